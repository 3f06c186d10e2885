"""Training a synthetic-image detector on real photos and in-repo generator fakes.

The result is a safetensors file and a model card holding the data used, the
generators seen, calibration, metrics on a held-out split (per generator and
per degradation) and the command that reproduces it.
"""
from __future__ import annotations

import logging
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader

from detectors.calibration import expected_calibration_error, fit_platt
from detectors.cards import save_model
from detectors.evaluation.scoring import evaluate, logits_for
from detectors.models.dual_branch import DualBranchClassifier, DualBranchConfig
from detectors.training.data import ImageDataset, Sample, list_fakes, list_reals, load_views, split

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    name: str
    real_dir: Path
    fake_dirs: dict[str, Path]
    out_dir: Path
    identity_file: Path | None = None
    backbone: str = "convnext_atto"
    image_size: int = 64
    epochs: int = 4
    batch_size: int = 64
    lr: float = 2e-3
    max_real: int | None = 4000
    max_fake_per_generator: int | None = None
    seed: int = 0
    device: str = "cpu"
    target_fpr: float = 0.01
    version: str = "1.0"
    augment: bool = True  # platform degradations during training (switch off only for diagnostics)
    crop: str = "none"  # "faces": train on MTCNN crops of the largest face, as the face detector sees them
    eval_degradations: tuple[str, ...] = ("clean", "jpeg90", "jpeg75", "jpeg40", "resize0.5", "blur1.0", "noise5", "crop0.8")
    extra_card: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[str, float], None]


def _samples(cfg: TrainConfig) -> list[Sample]:
    samples = list_reals(cfg.real_dir, cfg.max_real, cfg.seed, cfg.identity_file)
    for source, folder in sorted(cfg.fake_dirs.items()):
        samples += list_fakes(folder, source, cfg.max_fake_per_generator)
    return samples


def _balanced_weights(samples: list[Sample]) -> torch.Tensor:
    """Sample reals and fakes equally often, and generators equally among fakes."""
    counts: dict[str, int] = {}
    for s in samples:
        counts[s.source] = counts.get(s.source, 0) + 1
    n_generators = max(len(counts) - 1, 1)
    return torch.tensor([
        0.5 / counts[s.source] if s.label == 0 else 0.5 / (n_generators * counts[s.source]) for s in samples
    ], dtype=torch.double)


def train_detector(cfg: TrainConfig, progress: Progress | None = None) -> dict[str, Any]:
    progress = progress or (lambda stage, fraction: None)
    torch.manual_seed(cfg.seed)
    started = time.time()
    views, dropped = {}, {}
    for name, part in split(_samples(cfg)).items():
        kept, images, dropped[name] = load_views(part, cfg.crop)
        views[name] = (kept, images)
    splits = {name: kept for name, (kept, _) in views.items()}
    if not splits["train"] or not any(s.label == 1 for s in splits["train"]):
        raise ValueError("no training fakes found: check the --fake folders")
    model_cfg = DualBranchConfig(backbone=cfg.backbone, image_size=cfg.image_size)
    model = DualBranchClassifier(model_cfg).to(cfg.device)
    train_set = ImageDataset(splits["train"], cfg.image_size, train=cfg.augment, seed=cfg.seed, images=views["train"][1])
    sampler = torch.utils.data.WeightedRandomSampler(
        _balanced_weights(splits["train"]), num_samples=len(train_set), replacement=True,
        generator=torch.Generator().manual_seed(cfg.seed),
    )
    loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=0)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.05)
    steps = cfg.epochs * len(loader)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=cfg.lr, total_steps=steps, pct_start=0.15)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    history = []
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        train_set.epoch = epoch
        losses = []
        for images, labels in loader:
            optimiser.zero_grad()
            loss = loss_fn(model(images.to(cfg.device)), labels.float().to(cfg.device))
            loss.backward()
            optimiser.step()
            scheduler.step()
            losses.append(loss.item())
            step += 1
            progress(f"epoch {epoch + 1}/{cfg.epochs}", step / steps)
        history.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4)})
        log.info("epoch done", extra={"model": cfg.name, **history[-1]})
        print(f"[{cfg.name}] epoch {epoch + 1}/{cfg.epochs} loss {history[-1]['loss']:.4f}", flush=True)

    calib_set = ImageDataset(splits["calib"], cfg.image_size, images=views["calib"][1])
    calib_logits = logits_for(model, calib_set, cfg.device)
    calib_labels = np.array([s.label for s in splits["calib"]])
    calibration = fit_platt(calib_logits, calib_labels, cfg.target_fpr)
    ece = expected_calibration_error(calibration.probability(calib_logits), calib_labels)
    progress("evaluating", 1.0)
    report = evaluate(model.cpu(), calibration, splits["test"], cfg.image_size, "cpu", cfg.eval_degradations,
                      images=views["test"][1])

    counts = {name: {src: sum(1 for s in part if s.source == src) for src in sorted({s.source for s in part})}
              for name, part in splits.items()}
    card = {
        "name": cfg.name,
        "version": cfg.version,
        "task": "synthetic-image detection (1 = synthetic)",
        "architecture": {"family": "dual_branch", **model_cfg.to_dict()},
        "preprocessing": ("MTCNN crop of the largest face (1.5x box), " if cfg.crop == "faces" else "")
        + "centre square crop, bicubic resize to image_size, normalise to [-1, 1]",
        "crop": cfg.crop,
        "training_data": {
            "real": {"folder": str(cfg.real_dir), "max_items": cfg.max_real, "identity_file": str(cfg.identity_file or "")},
            "generators": {k: str(v) for k, v in sorted(cfg.fake_dirs.items())},
            "split_counts": counts,
            "dropped_without_face": dropped if cfg.crop == "faces" else {},
            "split_rule": "SHA-1 of identity (reals) or file (fakes): 70% train, 15% calibration, 15% test",
            "augmentations": ("random JPEG 30-95 (p=0.7), resize 0.5-1.5x (0.3), blur (0.2), noise (0.2), crop (0.3), "
                              "flip, applied to reals and fakes alike") if cfg.augment else "none",
        },
        "training": {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr, "seed": cfg.seed,
                     "device": cfg.device, "history": history, "seconds": round(time.time() - started, 1),
                     "torch": torch.__version__, "python": platform.python_version()},
        "calibration": {**calibration.to_dict(), "method": "Platt scaling on the calibration split",
                        "ece_on_calibration_split": round(ece, 4)},
        "metrics_test_split": report,
        "limitations": [
            "Trained only against this repository's small generators at low resolution; "
            "scores on other generators are not evidence until measured (see leave-one-generator-out).",
            "Heatmaps show where the network looked, not what is fake.",
        ],
        "reproduce": reproduce_command(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **cfg.extra_card,
    }
    return save_model(model, card, cfg.out_dir / f"{cfg.name}.safetensors")


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
    return " ".join(shlex.quote(a) for a in argv)
