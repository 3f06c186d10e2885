"""Training, calibration and the model card of ``text-supervised``.

Train on the TRAIN split only, fit Platt scaling and the 1%-FPR threshold on
CALIB, choose the minimum length on CALIB, and report everything on TEST,
including leave-one-generator-out AUROC: the honest number for LLMs the model
never saw. Splits are by human-text group (detectors/text/data.py).
"""
from __future__ import annotations

import argparse
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from detectors.calibration import Calibration, expected_calibration_error, fit_platt
from detectors.cards import save_model
from detectors.evaluation.metrics import auc_score, binary_metrics
from detectors.text.data import (
    HUMAN,
    MACHINE,
    SHARED_TEXT_DIR,
    SPLIT_FRACTIONS,
    LabelledText,
    load_shared_corpus,
    split_of,
)
from detectors.text.evaluate import LENGTH_BUCKETS, word_count
from detectors.text.features import CHAR_NGRAMS, NUM_BUCKETS, STYLE_NAMES, TextFeatures, extract
from detectors.text.supervised import DEFAULT_MODELS_DIR, WEIGHTS_NAME, HashedLinearModel, collate, logits_of

log = logging.getLogger(__name__)

REPRODUCE = "python -m detectors.text train-supervised --out detectors/weights --seed 0"
# Window lengths (words, taken from the END of each text, past the human
# prefix that machine continuations copy) for the length curve.
WINDOWS = (10, 20, 30, 40, 50, 60, 80, 100)
# The minimum length is the shortest window whose CALIB AUROC reaches this.
MIN_LENGTH_AUROC = 0.8


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 12
    batch_size: int = 256
    lr: float = 0.02
    l2: float = 1e-5
    seed: int = 0


def generator_of(source: str) -> str:
    """``squad_gpt2-xl.json`` -> ``gpt2-xl`` (the LLM), for per-generator and leave-one-out metrics."""
    return source.removesuffix(".json").split("_", 1)[-1]


def tail_words(text: str, n: int) -> str:
    return " ".join(text.split()[-n:])


def train_model(features: Sequence[TextFeatures], labels: np.ndarray,
                config: TrainConfig = TrainConfig()) -> HashedLinearModel:
    """Logistic regression with balanced classes and an L2 penalty, by mini-batch Adam."""
    torch.manual_seed(config.seed)
    generator = np.random.default_rng(config.seed)
    model = HashedLinearModel()
    style = np.stack([f.style for f in features])
    model.style_mean.copy_(torch.from_numpy(style.mean(0)))
    model.style_std.copy_(torch.from_numpy(style.std(0) + 1e-6))
    labels = np.asarray(labels, dtype=np.float32)
    positives = max(float(labels.sum()), 1.0)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(labels) - positives) / positives))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    model.train()
    for _ in range(config.epochs):
        order = generator.permutation(len(features))
        for start in range(0, len(order), config.batch_size):
            chosen = order[start:start + config.batch_size]
            logits = model(*collate([features[i] for i in chosen]))
            loss = loss_fn(logits, torch.from_numpy(labels[chosen]))
            loss = loss + config.l2 * (model.ngram.weight.pow(2).sum() + model.style.weight.pow(2).sum())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():  # score with exactly the fp16 weights that will be shipped
        for parameter in model.parameters():
            parameter.copy_(parameter.half().float())
    return model.eval()


def _probabilities(model: HashedLinearModel, calibration: Calibration, features: Sequence[TextFeatures]) -> np.ndarray:
    return calibration.probability(logits_of(model, features))


def _metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    labels = np.asarray(labels).astype(bool)
    m = binary_metrics(labels, scores)
    return {"n_human": m.n_real, "n_machine": m.n_fake, "auc": round(m.auc, 4),
            "tpr_at_1pct_fpr": round(m.tpr_at_1pct_fpr, 4),
            "tpr_at_threshold": round(float((scores[labels] >= threshold).mean()), 4) if labels.any() else None,
            "fpr_at_threshold": round(float((scores[~labels] >= threshold).mean()), 4) if (~labels).any() else None}


def window_curve(model: HashedLinearModel, texts: Sequence[LabelledText]) -> dict[int, float]:
    """AUROC when every text is cut to its last N words."""
    labels = np.array([t.label for t in texts])
    return {n: round(auc_score(labels, logits_of(model, [extract(tail_words(t.text, n)) for t in texts])), 4)
            for n in WINDOWS}


def choose_min_words(curve: dict[int, float]) -> int:
    return next((n for n in WINDOWS if curve[n] >= MIN_LENGTH_AUROC), WINDOWS[-1])


def _test_report(model: HashedLinearModel, calibration: Calibration, test: list[LabelledText],
                 features: list[TextFeatures], min_words: int) -> dict[str, Any]:
    """Test metrics on the texts the detector agrees to judge (at least ``min_words``)."""
    judged = [i for i, f in enumerate(features) if f.word_count >= min_words]
    texts = [test[i] for i in judged]
    labels = np.array([t.label for t in texts])
    scores = _probabilities(model, calibration, [features[i] for i in judged])
    threshold = calibration.threshold
    generators = np.array([generator_of(t.source) if t.label == MACHINE else "" for t in texts])
    per_generator = {}
    for generator in sorted(set(generators) - {""}):
        mask = (labels == HUMAN) | (generators == generator)
        per_generator[generator] = _metrics(labels[mask], scores[mask], threshold)
    words = np.array([word_count(t.text) for t in texts])
    per_length: dict[str, Any] = {}
    for lo, hi, name in LENGTH_BUCKETS:
        mask = (words >= lo) & (words < hi)
        if (labels[mask] == HUMAN).any() and (labels[mask] == MACHINE).any():
            per_length[name] = _metrics(labels[mask], scores[mask], threshold)
    return {
        "overall": _metrics(labels, scores, threshold) | {"ece": round(expected_calibration_error(scores, labels), 4),
                                                          "too_short": len(test) - len(texts)},
        "per_generator": per_generator,
        "per_length_bucket_words": per_length,
        "auc_by_window_words": window_curve(model, test),
    }


def leave_one_generator_out(train: list[LabelledText], train_features: list[TextFeatures], test: list[LabelledText],
                            test_features: list[TextFeatures], config: TrainConfig) -> dict[str, Any]:
    """Train without one LLM's texts, test on that LLM's test texts vs all test humans."""
    out = {}
    test_labels = np.array([t.label for t in test])
    for held_out in sorted({generator_of(t.source) for t in train if t.label == MACHINE}):
        keep = [i for i, t in enumerate(train) if not (t.label == MACHINE and generator_of(t.source) == held_out)]
        model = train_model([train_features[i] for i in keep], np.array([train[i].label for i in keep]), config)
        mask = [i for i, t in enumerate(test) if t.label == HUMAN or generator_of(t.source) == held_out]
        logits = logits_of(model, [test_features[i] for i in mask])
        out[held_out] = {"auc": round(auc_score(test_labels[mask], logits), 4),
                         "n_machine": int((test_labels[mask] == MACHINE).sum())}
        log.info("leave-one-generator-out", extra={"held_out": held_out, **out[held_out]})
    aucs = [v["auc"] for v in out.values()]
    return {"per_generator": out, "mean_auc": round(float(np.mean(aucs)), 4) if aucs else None}


def _counts(texts: Sequence[LabelledText]) -> dict[str, int]:
    return {"human": sum(t.label == HUMAN for t in texts), "machine": sum(t.label == MACHINE for t in texts)}


def train_and_save(out_dir: Path, seed: int = 0, corpus_dir: Path = SHARED_TEXT_DIR,
                   config: TrainConfig | None = None, leave_one_out: bool = True) -> dict[str, Any]:
    """The whole recipe behind the shipped weights; returns the card."""
    config = config or TrainConfig(seed=seed)
    started = time.perf_counter()
    corpus = load_shared_corpus(corpus_dir)
    splits: dict[str, list[LabelledText]] = defaultdict(list)
    for text in corpus:
        splits[split_of(text.group)].append(text)
    features = {name: [extract(t.text) for t in texts] for name, texts in splits.items()}
    labels = {name: np.array([t.label for t in texts]) for name, texts in splits.items()}
    model = train_model(features["train"], labels["train"], config)
    calibration = fit_platt(logits_of(model, features["calib"]), labels["calib"])
    calib_curve = window_curve(model, splits["calib"])
    min_words = choose_min_words(calib_curve)
    card: dict[str, Any] = {
        "name": "text-supervised",
        "version": "1.0",
        "task": "human vs machine (LLM) text; score = calibrated probability of machine authorship",
        "architecture": {"num_buckets": NUM_BUCKETS, "num_style": len(STYLE_NAMES)},
        "features": {"word_ngrams": [1, 2, 3], "char_ngrams_within_words": list(CHAR_NGRAMS),
                     "hash": "crc32 mod num_buckets", "weighting": "1+log(tf), L2-normalised per n-gram family",
                     "style": list(STYLE_NAMES)},
        "training": {"epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr, "l2": config.l2,
                     "seed": config.seed, "loss": "class-balanced logistic loss", "optimiser": "Adam"},
        "data": {
            "corpus": "../shared/datasets/human-vs-llm-text (Fast-DetectGPT data: SQuAD and WritingPrompts)",
            "files": sorted({t.source for t in corpus}),
            "generators_seen": sorted({generator_of(t.source) for t in corpus if t.label == MACHINE}),
            "split_rule": ("by human-text group: sha256 of the first 120 characters of the human text (which its "
                           "machine continuations share as their prompt), hashed with seed 'text-split-v1' into "
                           + ", ".join(f"{n} {f:.0%}" for n, f in SPLIT_FRACTIONS) + "; human texts de-duplicated"),
            "counts": {name: _counts(texts) for name, texts in sorted(splits.items())},
        },
        "calibration": calibration.to_dict()
        | {"method": "Platt on the calib split; threshold at 1% FPR on its humans"},
        "min_words": min_words,
        "min_words_rule": (f"shortest window (last N words of each text) whose calib-split AUROC reaches "
                           f"{MIN_LENGTH_AUROC}; shorter texts are not judged (inconclusive)"),
        "auc_by_window_words_calib": calib_curve,
        "metrics_test_split": _test_report(model, calibration, splits["test"], features["test"], min_words),
        "reproduce": REPRODUCE,
        "limits": ("Trained on five open LLMs of 2019-2022 (GPT-2 XL, OPT-2.7B, GPT-Neo-2.7B, GPT-J-6B, GPT-NeoX-20B) "
                   "continuing English Wikipedia and Reddit stories; expect lower accuracy on other generators, "
                   "domains, languages, edited or paraphrased text; see leave_one_generator_out."),
    }
    if leave_one_out:
        card["leave_one_generator_out_test"] = leave_one_generator_out(
            splits["train"], features["train"], splits["test"], features["test"], config)
    card["training_seconds"] = round(time.perf_counter() - started, 1)
    card = save_model(model, card, out_dir / WEIGHTS_NAME)
    log.info("text-supervised trained", extra={"out": str(out_dir), "test": card["metrics_test_split"]["overall"]})
    return card


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_MODELS_DIR,
                        help="folder for text-supervised.safetensors and its card (default: the shipped weights)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=SHARED_TEXT_DIR, help="the human-vs-llm-text folder")
    parser.add_argument("--skip-leave-one-out", action="store_true",
                        help="do not train the five leave-one-generator-out models (faster)")


def run_train(args: argparse.Namespace) -> int:
    card = train_and_save(args.out, seed=args.seed, corpus_dir=args.corpus, leave_one_out=not args.skip_leave_one_out)
    overall = card["metrics_test_split"]["overall"]
    print(f"wrote {args.out / WEIGHTS_NAME} (sha256 {card['weights_sha256'][:12]}...), min_words {card['min_words']}")
    print(f"test AUROC {overall['auc']}, TPR@1%FPR {overall['tpr_at_1pct_fpr']}, "
          f"at the calibrated threshold TPR {overall['tpr_at_threshold']} FPR {overall['fpr_at_threshold']}")
    if "leave_one_generator_out_test" in card:
        print(f"leave-one-generator-out mean AUROC {card['leave_one_generator_out_test']['mean_auc']}")
    return 0
