"""Training an artifact-level synthetic-image detector, and measuring it on what it never saw.

Data, by role:
- training reals (``reals``): their hash split's train part; the calibration
  and test parts (other people, other photos) calibrate and measure;
- aligned fakes (reconstructions of real photos through our generators) and
  full samples, grouped into generator families; self-blended faces made on
  the fly from the training reals named in ``sbi_from``;
- calibration reals (``calib_reals``): photos the model never trains on,
  added to the calibration split (80%) and the test split (20%); the
  threshold is set for ``target_fpr`` on all calibration reals together;
- evaluation-only reals (``test_reals``): false positives on a real source
  that neither training nor calibration saw.

With ``exclude_family`` the run leaves one family out entirely and reports
how well the model finds it: the leave-one-family-out figure that says
whether the detector would find a generator it has never seen.
"""
from __future__ import annotations

import logging
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from detectors.calibration import REVIEW_FPR, Calibration, expected_calibration_error, fit_platt
from detectors.cards import load_card, load_weights, save_model
from detectors.evaluation.scoring import measure as measure_scored
from detectors.models.artifact_net import ArtifactNet, ArtifactNetConfig
from detectors.preprocess import MAX_TILES, TILE
from detectors.tiles import tiled_logits
from detectors.training.data import (
    ImageDataset,
    NumberedDraws,
    Sample,
    list_fakes,
    list_reals,
    load_views,
    self_blended,
    split,
    split_of,
)
from detectors.training.degradations import EVALUATION_DEGRADATIONS

log = logging.getLogger(__name__)

# Bumped when a change alters what the same recipe trains (2: a fresh training view at every draw of an image,
# where revision 1 reused one view per image for the whole run); recorded in cards and repeat caches.
TRAINING_REVISION = 2


@dataclass(frozen=True)
class Source:
    """One folder of images: a real source (``family`` = where it comes from) or fakes (``family`` = generator family)."""

    family: str
    folder: Path
    identity_file: Path | None = None
    limit: int | None = None
    name: str = ""  # fakes: the folder's name in reports (default: the folder name)
    domain: str = ""  # fakes: which real source's content they show (default: the first training real source)


@dataclass
class TrainConfig:
    name: str
    reals: list[Source]
    fakes: list[Source]
    out_dir: Path
    calib_reals: list[Source] = field(default_factory=list)
    test_reals: list[Source] = field(default_factory=list)
    sbi_from: tuple[str, ...] = ()  # real families whose training faces are self-blended into fakes
    exclude_family: str | None = None  # leave this generator family out of training (and report it)
    # with exclude_family "faceswap": keep the self-blended reals in training. They come from no generator (a real
    # face blended with a jittered copy of itself), so the held-out set is then the face-swap generator's output only
    keep_self_blends: bool = False
    width: int = 16
    residual_scales: tuple[int, ...] = (2,)  # ArtifactNetConfig.residual_scales
    # "swa": the kept weights are the average of the weights after every step of the second half of training
    # (dense weight averaging, as SWAD does for domain generalisation) rather than the last step's
    weight_average: str = "none"
    soft_reals: float = 0.0  # share of real training views blurred like a generator's output (match_softness)
    sharp_fakes: float = 0.0  # share of fake training views sharpened (match_sharpness)
    tile: int = TILE
    max_tiles: int = MAX_TILES
    steps: int = 1500
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0  # the network's initialisation, sampling order and augmentation draws
    # which reals are drawn (``limit``) and which images are evaluated (``eval_limit``); None: the same as ``seed``.
    # Repeated runs (detectors.training.repeat) fix it, so that only training varies and they share a test set.
    data_seed: int | None = None
    device: str = "cpu"
    target_fpr: float = 0.01
    version: str = "2.1"
    crop: str = "none"  # "faces": train and score on MTCNN face crops (native resolution)
    eval_degradations: tuple[str, ...] = tuple(EVALUATION_DEGRADATIONS)
    eval_limit: int = 300  # at most this many images per source in each evaluation set
    write_weights: bool = True
    init_from: Path | None = None  # start from these weights (with --steps 0: recalibrate them for this crop only)
    extra_card: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class HeldOutScores:
    """One run's calibrated probabilities on the left-out family and the test reals, per degradation: what
    ``detectors.training.repeat`` needs to compare runs image by image and to score their ensemble."""

    paths: tuple[str, ...]
    labels: np.ndarray
    probabilities: dict[str, np.ndarray]


@dataclass
class Splits:
    train: list[Sample]
    calib: list[Sample]
    test: list[Sample]
    held_out_family: list[Sample]


def _real_samples(source: Source, seed: int) -> list[Sample]:
    return list_reals(source.folder, source.limit, seed, source.identity_file, source.family)


def _fake_samples(source: Source, default_domain: str) -> list[Sample]:
    return list_fakes(source.folder, source.name or source.folder.name, source.limit, source.family,
                      source.identity_file, source.domain or default_domain)


def _cap(samples: list[Sample], limit: int, seed: int) -> list[Sample]:
    """At most ``limit`` samples per (label, source), chosen by seed: evaluation cost stays bounded."""
    rng = np.random.default_rng(seed)
    out: list[Sample] = []
    for key in sorted({(s.label, s.source, s.family) for s in samples}):
        part = [s for s in samples if (s.label, s.source, s.family) == key]
        if len(part) > limit:
            part = [part[i] for i in sorted(rng.choice(len(part), limit, replace=False))]
        out += part
    return out


def build_splits(cfg: TrainConfig) -> Splits:
    seed = cfg.seed if cfg.data_seed is None else cfg.data_seed
    train, calib, test, held_out = [], [], [], []
    for source in cfg.reals:
        parts = split(_real_samples(source, seed))
        train += parts["train"]
        calib += parts["calib"]
        test += parts["test"]
        if source.family in cfg.sbi_from:
            sbi = [self_blended(s) for s in parts["train"]]
            train += sbi
            calib += [self_blended(s) for s in parts["calib"]]
            test += [self_blended(s) for s in parts["test"]]
    for source in cfg.calib_reals:  # never trained on: calibrate on two thirds, report the rest
        for sample in _real_samples(source, seed):
            (test if split_bucket(sample) == "test" else calib).append(sample)
    for source in cfg.test_reals:
        test += _real_samples(source, seed)
    for source in cfg.fakes:
        samples = _fake_samples(source, cfg.reals[0].family if cfg.reals else "")
        if source.family == cfg.exclude_family:
            held_out += samples
            continue
        parts = split(samples)
        train, calib, test = train + parts["train"], calib + parts["calib"], test + parts["test"]
    if cfg.exclude_family == "faceswap" and not cfg.keep_self_blends:  # self-blends count as face swaps
        held_out += [s for s in train + calib + test if s.source == "sbi"]
        train, calib, test = ([s for s in part if s.source != "sbi"] for part in (train, calib, test))
    return Splits(train, _cap(calib, cfg.eval_limit, seed), _cap(test, cfg.eval_limit, seed),
                  _cap(held_out, cfg.eval_limit, seed))


def split_bucket(sample: Sample) -> str:
    return split_of(sample, (0.5, 0.3))


def _balanced_weights(samples: list[Sample]) -> torch.Tensor:
    """Each content domain equally often, and within it reals and fakes equally; among a domain's fakes each family
    equally, and each source equally within its family.

    Without the domain level, a real source with few photos but many
    reconstructions (BSDS500: 140 training photos, 400 fakes of them) would
    teach "this kind of scene is fake" instead of "these traces are fake".
    """
    counts: dict[tuple, int] = {}
    for s in samples:
        for key in ((s.domain, s.label), (s.domain, s.label, s.family), (s.domain, s.label, s.family, s.source)):
            counts[key] = counts.get(key, 0) + 1
    domains = sorted({s.domain for s in samples})
    weights = []
    for s in samples:
        families = len({k[2] for k in counts if len(k) == 3 and k[:2] == (s.domain, s.label)})
        sources = len({k[3] for k in counts if len(k) == 4 and k[:3] == (s.domain, s.label, s.family)})
        has_both = (s.domain, 0) in counts and (s.domain, 1) in counts
        share = 0.5 if has_both else 1.0
        weights.append(share / len(domains) / families / sources / counts[(s.domain, s.label, s.family, s.source)])
    return torch.tensor(weights, dtype=torch.double)


def _load(samples: list[Sample], crop: str) -> tuple[list[Sample], list]:
    kept, images, _ = load_views(samples, crop)
    return kept, images


def measure(model: torch.nn.Module, calibration: Calibration, samples: list[Sample], images: list, cfg: TrainConfig,
            degradations: tuple[str, ...], probabilities: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Per degradation: AUC of all reals against all fakes, and against each fake family; FPR per real source
    (``detectors.evaluation.scoring.measure``, shared with ``python -m detectors.evaluation``)."""
    return measure_scored(model, calibration, samples, images, degradations, device=cfg.device, tile=cfg.tile,
                          max_tiles=cfg.max_tiles, name=cfg.name, probabilities=probabilities)


def _initial_model(cfg: TrainConfig) -> tuple[ArtifactNetConfig, ArtifactNet, dict[str, Any] | None]:
    """A fresh network, or (``init_from``) a trained one to fine-tune or only to recalibrate for another crop."""
    if cfg.init_from is None:
        model_cfg = ArtifactNetConfig(width=cfg.width, residual_scales=tuple(cfg.residual_scales))
        return model_cfg, ArtifactNet(model_cfg).to(cfg.device), None
    card = load_card(cfg.init_from)
    model_cfg = ArtifactNetConfig.from_dict(card["architecture"])
    model = ArtifactNet(model_cfg)
    load_weights(model, cfg.init_from)
    return model_cfg, model.to(cfg.device), card


def _fit(model: ArtifactNet, cfg: TrainConfig, splits: Splits, progress: Progress, started: float) -> list[dict]:
    if not any(s.label == 1 for s in splits.train):
        raise ValueError("no training fakes found: check the --fake folders")
    train_samples, train_images = _load(splits.train, cfg.crop)
    train_set = ImageDataset(train_samples, cfg.tile, train=True, seed=cfg.seed, images=train_images,
                             soft_reals=cfg.soft_reals, sharp_fakes=cfg.sharp_fakes)
    sampler = NumberedDraws(torch.utils.data.WeightedRandomSampler(
        _balanced_weights(train_samples), num_samples=cfg.steps * cfg.batch_size, replacement=True,
        generator=torch.Generator().manual_seed(cfg.seed),
    ))
    loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=0)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    if cfg.weight_average not in ("none", "swa"):
        raise ValueError(f"weight_average must be 'none' or 'swa', got {cfg.weight_average!r}")
    averaged = torch.optim.swa_utils.AveragedModel(model) if cfg.weight_average == "swa" else None
    history, losses = [], []
    model.train()
    for step, (tiles, labels) in enumerate(loader, start=1):
        optimiser.zero_grad()
        loss = loss_fn(model(tiles.to(cfg.device)), labels.float().to(cfg.device))
        loss.backward()
        optimiser.step()
        scheduler.step()
        if averaged is not None and step > cfg.steps // 2:
            averaged.update_parameters(model)
        losses.append(loss.item())
        progress("training", step / cfg.steps)
        if step % 100 == 0 or step == cfg.steps:
            history.append({"step": step, "loss": round(float(np.mean(losses[-100:])), 4)})
            print(f"[{cfg.name}] step {step}/{cfg.steps} loss {history[-1]['loss']:.4f} "
                  f"({time.time() - started:.0f} s)", flush=True)
    if averaged is not None:  # GroupNorm only: no running statistics to recompute for the averaged weights
        model.load_state_dict(averaged.module.state_dict())
    return history


def train_detector(cfg: TrainConfig, progress: Progress | None = None,
                   on_held_out: Callable[[HeldOutScores], None] | None = None) -> dict[str, Any]:
    """Train, calibrate and evaluate; the card (weights saved unless ``write_weights`` is off). With
    ``exclude_family``, ``on_held_out`` receives the per-image scores behind the held-out figures."""
    progress = progress or (lambda stage, fraction: None)
    torch.manual_seed(cfg.seed)
    started = time.time()
    splits = build_splits(cfg)
    model_cfg, model, init_card = _initial_model(cfg)
    history = _fit(model, cfg, splits, progress, started) if cfg.steps > 0 else []
    model = model.cpu().eval()
    cfg_eval = TrainConfig(**{**cfg.__dict__, "device": "cpu"})

    progress("calibrating", 1.0)
    calib_samples, calib_images = _load(splits.calib, cfg.crop)
    calib_logits = tiled_logits(model, calib_images, "cpu", cfg.tile, cfg.max_tiles)
    calib_labels = np.array([s.label for s in calib_samples])
    calibration = fit_platt(calib_logits, calib_labels, cfg.target_fpr)
    ece = expected_calibration_error(calibration.probability(calib_logits), calib_labels)

    progress("evaluating", 1.0)
    test_samples, test_images = _load(splits.test, cfg.crop)
    report: dict[str, Any] = {"test_split": measure(model, calibration, test_samples, test_images, cfg_eval,
                                                    cfg.eval_degradations)}
    if cfg.exclude_family:
        reals = [(s, img) for s, img in zip(test_samples, test_images) if s.label == 0]
        held, held_images = _load(splits.held_out_family, cfg.crop)
        held_samples = [s for s, _ in reals] + held
        probabilities: dict[str, np.ndarray] = {}
        report["held_out_family"] = {
            "family": cfg.exclude_family,
            **measure(model, calibration, held_samples, [img for _, img in reals] + held_images, cfg_eval,
                      cfg.eval_degradations, probabilities),
        }
        if on_held_out is not None:
            on_held_out(HeldOutScores(tuple(str(s.path) for s in held_samples),
                                      np.array([s.label for s in held_samples]), probabilities))
    card = _card(cfg, model_cfg, splits, calibration, ece, history, report, started)
    if init_card is not None:
        card["initialised_from"] = {"name": init_card.get("name"), "weights_sha256": init_card.get("weights_sha256"),
                                    "steps_here": cfg.steps}
    if not cfg.write_weights:
        return card
    return save_model(model, card, cfg.out_dir / f"{cfg.name}.safetensors")


def _counts(samples: list[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in samples:
        key = f"{'real' if s.label == 0 else 'fake'}:{s.family}:{s.source}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _card(cfg: TrainConfig, model_cfg: ArtifactNetConfig, splits: Splits, calibration: Calibration, ece: float,
          history: list[dict[str, Any]], report: dict[str, Any], started: float) -> dict[str, Any]:
    clean = report["test_split"].get("clean", {}).get("pooled", {})
    return {
        "name": cfg.name,
        "version": cfg.version,
        "task": "synthetic-image detection (1 = synthetic)",
        "architecture": {"family": "artifact_net", **model_cfg.to_dict()},
        "tiling": {"tile": cfg.tile, "max_tiles": cfg.max_tiles, "pooling": "mean of tile logits"},
        "preprocessing": ("MTCNN crop of each face (1.5x box) at native resolution, " if cfg.crop == "faces" else "")
        + f"native-resolution {cfg.tile}px tiles (mirror-padded when smaller, never resized), "
          "normalised to [-1, 1]; NPR residual inside the network",
        "crop": cfg.crop,
        "training_data": {
            "reals": [_source_dict(s) for s in cfg.reals],
            "fakes": [_source_dict(s) for s in cfg.fakes],
            "self_blended_from": list(cfg.sbi_from),
            "calibration_reals": [_source_dict(s) for s in cfg.calib_reals],
            "evaluation_only_reals": [_source_dict(s) for s in cfg.test_reals],
            "excluded_family": cfg.exclude_family,
            "split_counts": {"train": _counts(splits.train), "calib": _counts(splits.calib),
                             "test": _counts(splits.test), "held_out_family": _counts(splits.held_out_family)},
            "split_rule": "SHA-1 of identity (reals; aligned fakes follow their source photo) or file (other fakes): "
                          "70% train, 15% calibration, 15% test; calibration-only reals: 80% calibration, 20% test",
            "post_processing": "fakes first get the reals' JPEG history (q 70-97, p=0.6); then everyone: resample "
                               "0.5-2x with a random filter (p=0.4), blur (0.15), noise (0.15), JPEG 30-100 (0.6), "
                               "a random native tile, flip",
        },
        "training": {"steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr, "seed": cfg.seed,
                     "revision": TRAINING_REVISION,
                     "weight_average": cfg.weight_average, "soft_reals": cfg.soft_reals,
                     "sharp_fakes": cfg.sharp_fakes,
                     "data_seed": cfg.seed if cfg.data_seed is None else cfg.data_seed,
                     "device": cfg.device, "history": history, "seconds": round(time.time() - started, 1),
                     "torch": torch.__version__, "python": platform.python_version()},
        "calibration": {**calibration.to_dict(),
                        "method": "Platt scaling (slope kept positive) on the calibration split; threshold at the "
                                  "target FPR on all its reals (held-out photos of every real source), review "
                                  f"threshold at {REVIEW_FPR:.0%} of them",
                        "ece_on_calibration_split": round(ece, 4)},
        "metrics": report,
        # the summary the service's model_info and reports read
        "metrics_test_split": {"per_degradation": {"clean": clean},
                               "per_generator": report["test_split"].get("clean", {}).get("per_family", {})},
        "limitations": [
            ("Trained only on this repository's small generators and on reconstructions of real photos through them; "
            "the leave-one-family-out figures estimate, not prove, how it does on other generators."),
            "A flat or heavily compressed region carries few traces: tiles there score near the middle.",
        ],
        "reproduce": reproduce_command(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **cfg.extra_card,
    }


def _source_dict(source: Source) -> dict[str, Any]:
    return {"family": source.family, "folder": str(source.folder), "limit": source.limit,
            "identity_file": str(source.identity_file or "")}


def reproduce_command() -> str:
    """The command line that produced this run, written the way a person would type it."""
    argv = list(sys.argv)
    if not argv or not argv[0]:
        return ""
    first = Path(argv[0]).resolve()
    repo = Path(__file__).resolve().parents[2]
    if first.name == "__main__.py":
        # a package of this repository (python -m detectors.training), else an installed one (python -m pytest,
        # from a virtualenv that may live outside the checkout)
        package = first.parent.relative_to(repo) if first.parent.is_relative_to(repo) else Path(first.parent.name)
        argv[0:1] = ["python", "-m", ".".join(package.parts)]
    elif first.name == "manage.py":
        argv[0:1] = ["python", "manage.py"]
    elif first.suffix == ".py" and first.is_relative_to(repo):  # a module of this repository run with -m
        argv[0:1] = ["python", "-m", ".".join(first.relative_to(repo).with_suffix("").parts)]
    return " ".join(shlex.quote(a) for a in argv)
