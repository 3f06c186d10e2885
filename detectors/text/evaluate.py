"""Evaluate the LLM-text detectors on anyone's human and machine texts (jsonl in, AUROC and TPR@1%FPR out).

Every registered text detector that can score raw texts (``score_texts``) is
asked; watermark detectors are skipped because they answer a different
question and need a key. Texts a detector declines as too short are counted,
not scored: a detector is judged on what it agreed to judge. Two operating
points are reported because they answer different questions: the detector's
own calibrated threshold (what a deployment flags) and the threshold that
gives 1% FPR on *this* data (the best it could do here, chosen after seeing
the labels).
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detectors.base import Detector, MediaType
from detectors.evaluation.metrics import auc_score, threshold_for_fpr
from detectors.evaluation.plots import roc_png
from detectors.registry import create_detector, detectors_for
from detectors.text.data import (
    HUMAN,
    MACHINE,
    SHARED_TEXT_DIR,
    SPLIT_FRACTIONS,
    Split,
    load_shared_corpus,
    read_jsonl_texts,
    split_corpus,
)

log = logging.getLogger(__name__)

LENGTH_BUCKETS = ((0, 50, "<50"), (50, 100, "50-100"), (100, 200, "100-200"), (200, 10**9, ">200"))
TARGET_FPR = 0.01
# With fewer human texts than this, "TPR at 1% FPR" is TPR at zero false positives: rows say so.
FEW_HUMANS = 100
# Texts scored per call, so that long runs report progress.
PROGRESS_CHUNK = 32
Progress = Callable[[str, int, int], None]


def word_count(text: str) -> int:
    """Whitespace-separated words: the detector-neutral length used for the buckets."""
    return len(text.split())


def length_bucket(words: int) -> str:
    return next(name for lo, hi, name in LENGTH_BUCKETS if lo <= words < hi)


@dataclass(frozen=True)
class LabelledSet:
    texts: list[str]
    labels: np.ndarray  # HUMAN / MACHINE
    words: np.ndarray


def load_labelled(human: Path, machine: Path) -> LabelledSet:
    """Both files, checked: missing, malformed (file:line) or empty input is an error that says so."""
    texts: list[str] = []
    labels: list[int] = []
    for path, label in ((human, HUMAN), (machine, MACHINE)):
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist; pass a jsonl file with one {{\"text\": ...}} per line")
        found = [t.text for t in read_jsonl_texts(path, label)]
        if not found:
            raise ValueError(f"{path} has no texts; it needs one JSON object with a \"text\" field per line")
        texts += found
        labels += [label] * len(found)
    return LabelledSet(texts, np.array(labels), np.array([word_count(t) for t in texts]))


def text_scorers(names: Iterable[str] | None = None, options: dict[str, dict[str, Any]] | None = None,
                 models_dir: Path | None = None, device: str = "cpu") -> dict[str, Detector]:
    """The registry's text detectors that have ``score_texts``, built with their deployment options.

    Named detectors that cannot be built or cannot score raw text are errors;
    when none are named, such detectors are skipped with a log line.
    """
    options = options or {}
    available = detectors_for(MediaType.TEXT)
    requested = list(names) if names else available
    unknown = [n for n in requested if n not in available]
    if unknown:
        raise ValueError(f"unknown text detector(s) {', '.join(unknown)}; registered: {', '.join(available)}")
    out = {}
    for name in requested:
        try:
            detector = create_detector(name, models_dir=models_dir, device=device, **options.get(name, {}))
        except (FileNotFoundError, ValueError) as exc:
            if names:
                raise ValueError(f"{name} could not be loaded: {exc}") from exc
            log.warning("text detector skipped", extra={"detector": name, "error": str(exc)})
            continue
        if not callable(getattr(detector, "score_texts", None)):
            if names:
                raise ValueError(f"{name} cannot score raw texts (no score_texts; watermark detectors need a key "
                                 "and are evaluated with their own tools)")
            continue
        out[name] = detector
    if not out:
        raise ValueError("no text detector with score_texts is registered and loadable")
    return out


def _own_threshold(detector: Detector) -> float | None:
    info = detector.model_info()
    value = info.get("threshold", getattr(detector, "threshold", None))
    return float(value) if value is not None else None


def _rates(labels: np.ndarray, scores: np.ndarray, own_threshold: float | None) -> dict[str, Any]:
    machine = labels == MACHINE
    both = machine.any() and (~machine).any()
    data_threshold = threshold_for_fpr(scores[~machine], TARGET_FPR) if (~machine).any() else None
    row: dict[str, Any] = {
        "n_human": int((~machine).sum()), "n_machine": int(machine.sum()),
        "warning": (f"only {int((~machine).sum())} human texts: TPR at 1% FPR is TPR at zero false positives here"
                    if (~machine).sum() < FEW_HUMANS else None),
        "auc": round(auc_score(labels, scores), 4) if both else None,
        "tpr_at_1pct_fpr_this_data": round(float((scores[machine] >= data_threshold).mean()), 4)
        if both and data_threshold is not None else None,
        "threshold_at_1pct_fpr_this_data": data_threshold,
    }
    if own_threshold is not None:
        flagged = scores >= own_threshold
        row["tpr_at_own_threshold"] = round(float(flagged[machine].mean()), 4) if machine.any() else None
        row["fpr_at_own_threshold"] = round(float(flagged[~machine].mean()), 4) if (~machine).any() else None
    return row


def evaluate_detector(detector: Detector, data: LabelledSet, progress: Progress | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    raw: list[float | None] = []
    for first in range(0, len(data.texts), PROGRESS_CHUNK):
        raw += detector.score_texts(data.texts[first:first + PROGRESS_CHUNK])  # type: ignore[attr-defined]
        if progress is not None:
            progress(detector.name, len(raw), len(data.texts))
    seconds = time.perf_counter() - started
    judged = np.array([s is not None for s in raw])
    scores = np.array([s if s is not None else np.nan for s in raw], dtype=np.float64)
    own = _own_threshold(detector)

    def row(mask: np.ndarray) -> dict[str, Any]:
        use = mask & judged
        counts = {"n": int(mask.sum()), "too_short": int((mask & ~judged).sum()),
                  "judged_human": int((use & (data.labels == HUMAN)).sum()),
                  "judged_machine": int((use & (data.labels == MACHINE)).sum())}
        return counts | _rates(data.labels[use], scores[use], own)

    buckets = np.array([length_bucket(w) for w in data.words])
    return {
        "model": detector.model_info(),
        "own_threshold": own,
        "overall": row(np.ones(len(data.texts), dtype=bool)),
        "by_length_words": {name: row(buckets == name) for _, _, name in LENGTH_BUCKETS if (buckets == name).any()},
        "texts_per_second": round(len(data.texts) / seconds, 1) if seconds > 0 else None,
        "scores": [None if s is None else round(float(s), 6) for s in raw],
    }


def evaluate(human: Path, machine: Path, names: Iterable[str] | None = None,
             options: dict[str, dict[str, Any]] | None = None, models_dir: Path | None = None,
             device: str = "cpu", progress: Progress | None = None) -> dict[str, Any]:
    data = load_labelled(human, machine)
    scorers = text_scorers(names, options, models_dir, device)
    results = {name: evaluate_detector(detector, data, progress) for name, detector in scorers.items()}
    return {"human_file": str(human), "machine_file": str(machine), "n_human": int((data.labels == HUMAN).sum()),
            "n_machine": int((data.labels == MACHINE).sum()), "labels": data.labels.tolist(),
            "target_fpr": TARGET_FPR, "detectors": results}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def format_table(report: dict[str, Any]) -> str:
    """One table per detector, one line per length bucket."""
    lines = [(f"{report['n_human']} human and {report['n_machine']} machine texts "
             f"({report['human_file']}, {report['machine_file']})")]
    headers = ("words", "n", "judged human", "judged machine", "too short", "AUROC", "TPR@1%FPR (this data)",
               "TPR @ own thr", "FPR @ own thr")
    for name, result in report["detectors"].items():
        own = result["own_threshold"]
        lines += ["", (f"{name}  (own threshold {_cell(own)} = its calibrated 1%-FPR operating point; "
                      "'this data' = the threshold giving 1% FPR on these human texts)")]
        rows = [("all", result["overall"])] + list(result["by_length_words"].items())
        cells = [(label, _cell(r["n"]), _cell(r["judged_human"]), _cell(r["judged_machine"]), _cell(r["too_short"]),
                  _cell(r["auc"]), _cell(r["tpr_at_1pct_fpr_this_data"]),
                  _cell(r.get("tpr_at_own_threshold")), _cell(r.get("fpr_at_own_threshold"))) for label, r in rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
        lines += ["  ".join(v.ljust(w) for v, w in zip(c, widths)) for c in cells]
        lines += [f"  ! {label}: {r['warning']}" for label, r in rows if r.get("warning")]
    return "\n".join(lines)


def write_outputs(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """results.json and, per detector, roc-<name>.png over the texts it judged."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json"]
    written[0].write_text(json.dumps(report, indent=2) + "\n")
    labels = np.array(report["labels"])
    for name, result in report["detectors"].items():
        judged = [i for i, s in enumerate(result["scores"]) if s is not None]
        if len(set(labels[judged].tolist())) < 2:
            continue
        path = out_dir / f"roc-{name}.png"
        path.write_bytes(roc_png([(name, labels[judged], np.array([result["scores"][i] for i in judged]))],
                                 title=f"{name}: human vs machine text"))
        written.append(path)
    return written


def export_split_jsonl(split: Split, out_dir: Path, corpus_dir: Path = SHARED_TEXT_DIR) -> dict[str, int]:
    """Write a split of the shared corpus as human.jsonl and machine.jsonl (input for the evaluation command)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = split_corpus(load_shared_corpus(corpus_dir), split)
    counts = {}
    for label, file_name in ((HUMAN, "human.jsonl"), (MACHINE, "machine.jsonl")):
        chosen = [t for t in texts if t.label == label]
        with (out_dir / file_name).open("w", encoding="utf-8") as fh:
            for t in chosen:
                fh.write(json.dumps({"text": t.text, "source": t.source}, ensure_ascii=False) + "\n")
        counts[file_name] = len(chosen)
    return counts


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split", choices=[name for name, _ in SPLIT_FRACTIONS], default="test")
    parser.add_argument("--out", type=Path, required=True, help="folder for human.jsonl and machine.jsonl")
    parser.add_argument("--corpus", type=Path, default=SHARED_TEXT_DIR, help="the human-vs-llm-text folder")


def run_export(args: argparse.Namespace) -> int:
    counts = export_split_jsonl(args.split, args.out, args.corpus)
    for file_name, n in counts.items():
        print(f"wrote {args.out / file_name}: {n} texts")
    return 0
