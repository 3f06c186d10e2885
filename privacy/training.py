"""Fine-tuning a shipped image detector on a tenant's labelled data, privately (DP-SGD, Opacus) or not.

Both modes run the same loop on the same data transforms as the non-private trainer (detectors/training), so
the side-by-side comparison and the membership-inference audit measure DP itself and nothing else. The private
mode draws Poisson batches and clips and noises per-sample gradients; its noise multiplier is fixed up front
by :func:`plan`, which is what the budget ledger reserves, and a job resumed after a crash continues the same
accountant history instead of starting a new one, so the spend never exceeds the reservation.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import opacus
import torch
from opacus import GradSampleModule
from opacus.accountants import IAccountant, create_accountant
from opacus.data_loader import DPDataLoader
from opacus.optimizers import DPOptimizer
from opacus.validators import ModuleValidator
from PIL import Image
from torch.utils.data import DataLoader

from detectors.calibration import fit_platt
from detectors.cards import save_model
from detectors.evaluation.metrics import binary_metrics
from detectors.registry import create_detector
from detectors.synthetic_image import CalibratedImageModel
from detectors.tiles import tiled_logits
from detectors.training.data import ImageDataset, Sample
from privacy.accounting import Mechanism, epsilon_spent, noise_for_target, rdp_epsilon_by_step
from privacy.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

log = logging.getLogger(__name__)

ACCOUNTANT = "rdp"
MOMENTUM = 0.9
TARGET_FPR = 0.01
LabelledImages = Sequence[tuple[Image.Image, int]]


@dataclass(frozen=True)
class FinetuneConfig:
    base_detector: str = "synthetic-image"   # a registered image detector with safetensors weights + card
    target_epsilon: float | None = 3.0       # None with private=False
    delta: float = 1e-5
    epochs: int = 3
    batch_size: int = 32                     # expected batch size; Poisson sampling: sample_rate = batch_size / n
    max_grad_norm: float = 1.0
    learning_rate: float = 0.05              # SGD with momentum (trains well under DP where Adam did not)
    private: bool = True
    seed: int = 0


@dataclass(frozen=True)
class Progress:
    epoch: int
    epochs: int
    step: int
    steps_total: int
    loss: float
    accuracy: float
    epsilon: float


@dataclass(frozen=True)
class FinetuneResult:
    weights_path: Path
    card: dict
    mechanism: Mechanism | None
    epsilon: float | None
    metrics: dict


def steps_per_epoch(config: FinetuneConfig, n_train: int) -> int:
    """Poisson sampling draws int(1/q) batches per epoch (Opacus's convention); shuffled batches cover the data once."""
    if config.private:
        return int(1 / sample_rate(config, n_train))
    return math.ceil(n_train / config.batch_size)


def sample_rate(config: FinetuneConfig, n_train: int) -> float:
    return min(1.0, config.batch_size / n_train)


def _validate(config: FinetuneConfig, n_train: int) -> None:
    if n_train < 2:
        raise ValueError(f"the training split has {n_train} images; at least 2 are needed")
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    if config.private:
        if config.target_epsilon is None or config.target_epsilon <= 0:
            raise ValueError("a private job needs target_epsilon > 0")
        if not 0 < config.delta < 1 / n_train:
            raise ValueError(f"delta {config.delta} must be below 1/(training images) = {1 / n_train:.3g}, "
                             "or a single person's record could leak with that probability")
    elif config.target_epsilon is not None:
        raise ValueError("a non-private job has no target_epsilon: set it to None")


def plan(config: FinetuneConfig, n_train: int) -> Mechanism | None:
    """The mechanism the job will run; the ledger reserves exactly this before training starts."""
    _validate(config, n_train)
    if not config.private:
        return None
    q = sample_rate(config, n_train)
    steps = config.epochs * steps_per_epoch(config, n_train)
    noise = noise_for_target(config.target_epsilon, config.delta, q, steps, ACCOUNTANT)
    return Mechanism(noise_multiplier=noise, sample_rate=q, steps=steps)


def load_base(base_detector: str, models_dir: Path | None, device: str = "cpu") -> CalibratedImageModel:
    """The registered detector's calibrated whole-image model (weights read from ``models_dir``)."""
    detector = create_detector(base_detector, models_dir=models_dir, device=device)
    model = getattr(detector, "model", None)
    if not isinstance(model, CalibratedImageModel) or model.card.get("crop", "none") != "none":
        raise ValueError(f"{base_detector!r} cannot be fine-tuned here: only whole-image detectors with "
                         "safetensors weights and a model card (e.g. synthetic-image) are supported")
    return model


def _dataset(images: LabelledImages, tile: int, seed: int) -> ImageDataset:
    """The non-private trainer's training dataset: the same post-processing chain, then one random native tile
    per image per step (and a flip). Items are named by position.

    One item is one image, so a per-example gradient is a per-image gradient: the unit of privacy is one
    labelled image whichever of its tiles a step happens to draw."""
    samples = [Sample(Path(f"item-{i}"), int(label), "tenant", f"item:{i}", "tenant")
               for i, (_, label) in enumerate(images)]
    return ImageDataset(samples, tile, train=True, seed=seed, images=[img for img, _ in images])


def _fingerprint(dataset: ImageDataset) -> str:
    """Identifies the training data, so a checkpoint is never resumed on different data."""
    digest = hashlib.sha256()
    for img, sample in zip(dataset.images, dataset.samples):
        digest.update(img.tobytes())
        digest.update(bytes([sample.label]))
    return digest.hexdigest()


def _job_identity(config: FinetuneConfig, base: CalibratedImageModel, fingerprint: str,
                  mechanism: Mechanism | None) -> dict[str, Any]:
    return {"config": asdict(config), "base_weights_sha256": base.card["weights_sha256"], "data": fingerprint,
            "mechanism": asdict(mechanism) if mechanism else None}


def _make_dp_compatible(net: torch.nn.Module) -> dict[str, Any]:
    """Opacus's validator on the model; BatchNorm and friends are replaced (GroupNorm) when it objects."""
    errors = [str(e) for e in ModuleValidator.validate(net, strict=False)]
    if errors:
        net = ModuleValidator.fix(net)
        remaining = ModuleValidator.validate(net, strict=False)
        if remaining:
            raise ValueError(f"the base model cannot be made DP-compatible: {remaining[0]}")
    return {"errors_found": errors, "fixed": bool(errors), "net": net}


def trainable_prefixes(net: torch.nn.Module) -> tuple[str, ...]:
    """The ArtifactNet modules a fine-tune tunes: the classifier head and the last residual block."""
    stages = getattr(net, "stages", None)
    if not isinstance(stages, torch.nn.Sequential) or not hasattr(net, "head"):
        raise ValueError(f"{type(net).__name__} is not an ArtifactNet (stem, stages, head): cannot fine-tune it")
    return ("head.", f"stages.{len(stages) - 1}.")


def tunable_parameters(net: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Only the head and the last residual block are tuned; the stem and earlier blocks stay as shipped.

    DP noise grows with the number of tuned parameters (every coordinate gets sigma*C/B of it), so on a
    tenant's few hundred images tuning every weight drowns the signal, while the last block and the head
    (the features closest to the decision) adapt well; the early layers, which find the pixel-level traces,
    stay as trained on many more images. It also keeps per-sample gradients cheap. The non-private job
    tunes the same parameters, so the comparison isolates DP.
    """
    prefixes = trainable_prefixes(net)
    for name, param in net.named_parameters():
        param.requires_grad_(name.startswith(prefixes))
    return [p for p in net.parameters() if p.requires_grad]


def finetune(config: FinetuneConfig, train: LabelledImages, holdout: LabelledImages, workdir: Path,
             models_dir: Path | None, *, on_progress: Callable[[Progress], None] = lambda p: None,
             device: str = "cpu") -> FinetuneResult:
    """Fine-tune ``config.base_detector`` (weights from ``models_dir``) on ``train``; evaluate on ``holdout``.

    Checkpoints go to ``workdir`` after every epoch and the job resumes from the last one if present; the
    result (weights + card) is written to ``workdir/result/``. ``on_progress`` is called after every step;
    the call for an epoch's last step comes after that epoch's checkpoint is on disk.
    """
    started = time.time()
    workdir = Path(workdir)
    mechanism = plan(config, len(train))
    base = load_base(config.base_detector, models_dir, device)
    base_utility = holdout_utility(base.model, holdout, base.tile, base.max_tiles, device)
    torch.manual_seed(config.seed)
    train_set = _dataset(train, base.tile, config.seed)
    fingerprint = _fingerprint(train_set)
    identity = _job_identity(config, base, fingerprint, mechanism)

    net = base.model.to(device).train()
    validator = _make_dp_compatible(net)
    net = validator.pop("net")
    trainable = tunable_parameters(net)
    optimizer = torch.optim.SGD(trainable, lr=config.learning_rate, momentum=MOMENTUM)
    sampling = torch.Generator().manual_seed(config.seed)
    noise = torch.Generator(device=device).manual_seed(config.seed + 1)
    state: dict[str, Any] = {"epoch": 0, "step": 0, "history": [], "accountant_history": [], "resumed_at": []}

    checkpoint = load_checkpoint(workdir)
    if checkpoint is not None:
        if checkpoint.state["identity"] != identity:
            raise ValueError(f"{workdir} holds a checkpoint of a different job (config, base model or data "
                             "differ): use a fresh workdir for a new job")
        net.load_state_dict(checkpoint.model)
        optimizer.load_state_dict(checkpoint.optimizer)
        sampling.set_state(checkpoint.generators["sampling"])
        noise.set_state(checkpoint.generators["noise"].to(noise.get_state().device))
        torch.set_rng_state(checkpoint.generators["torch"])
        state = {k: v for k, v in checkpoint.state.items() if k != "identity"}
        state["resumed_at"] = [*state["resumed_at"], state["epoch"]]
        log.info("fine-tune resumed", extra={"workdir": str(workdir), "epoch": state["epoch"]})

    loader, accountant = _loader(config, train_set, sampling), None
    if mechanism is not None:
        net, optimizer, accountant = make_private(net, optimizer, config, mechanism, noise)
        accountant.history = [tuple(h) for h in state["accountant_history"]]
    per_epoch = steps_per_epoch(config, len(train))
    steps_total = per_epoch * config.epochs
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
    spent = rdp_epsilon_by_step(mechanism, config.delta) if mechanism else (lambda steps: float("inf"))

    for epoch in range(state["epoch"], config.epochs):
        train_set.epoch = epoch
        net.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for images, labels in loader:
            optimizer.zero_grad(set_to_none=True)
            images, labels = images.to(device), labels.float().to(device)
            logits = net(images)
            # The batch mean, written so that an empty Poisson batch is a zero loss rather than 0/0 (Opacus
            # still clips, noises and counts that step).
            loss = loss_fn(logits, labels) / max(len(labels), 1)
            with warnings.catch_warnings():  # the images need no gradient; Opacus's hooks warn that they have none
                warnings.filterwarnings("ignore", message="Full backward hook is firing")
                loss.backward()
            optimizer.step()
            state["step"] += 1
            loss_sum += float(loss.detach()) * len(labels)
            correct += int(((logits.detach() > 0).float() == labels).sum())
            seen += len(labels)
            last = state["step"] == (epoch + 1) * per_epoch
            if last:
                state["epoch"] = epoch + 1
                state["history"].append({"epoch": epoch + 1, "loss": round(loss_sum / max(seen, 1), 5),
                                         "accuracy": round(correct / max(seen, 1), 4), "samples": seen})
                if accountant is not None:
                    state["accountant_history"] = [list(h) for h in accountant.history]
                save_checkpoint(workdir, Checkpoint(
                    model=net._module.state_dict() if accountant else net.state_dict(),
                    optimizer=optimizer.state_dict(),
                    generators={"sampling": sampling.get_state(), "noise": noise.get_state().cpu(),
                                "torch": torch.get_rng_state()},
                    state={**state, "identity": identity}))
                log.info("fine-tune epoch done", extra={"workdir": str(workdir), **state["history"][-1]})
            on_progress(Progress(epoch=epoch + 1, epochs=config.epochs, step=state["step"], steps_total=steps_total,
                                 loss=loss_sum / max(seen, 1), accuracy=correct / max(seen, 1),
                                 epsilon=spent(state["step"])))

    trained = net._module if accountant is not None else net
    return _finish(config, base, trained, train_set, holdout, workdir, mechanism, state, validator, base_utility,
                   started)


def _loader(config: FinetuneConfig, train_set: ImageDataset, sampling: torch.Generator) -> DataLoader:
    if config.private:
        return DPDataLoader(train_set, sample_rate=sample_rate(config, len(train_set)), generator=sampling)
    return DataLoader(train_set, batch_size=config.batch_size, shuffle=True, generator=sampling, num_workers=0)


def make_private(net: torch.nn.Module, optimizer: torch.optim.Optimizer, config: FinetuneConfig,
                 mechanism: Mechanism, noise: torch.Generator) -> tuple[GradSampleModule, DPOptimizer, IAccountant]:
    """What ``PrivacyEngine.make_private`` wires (per-sample gradients, clipping + noise, accountant hook),
    built from Opacus's own parts because make_private derives the sampling rate from the loader's length
    (1/ceil(n/B)) rather than B/n: that would make the trained mechanism differ from the one :func:`plan`
    computed and the ledger reserved. The Poisson loader is :func:`_loader`'s DPDataLoader at exactly B/n."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]ecure.*")
        model = GradSampleModule(net, batch_first=True, loss_reduction="mean")
        dp_optimizer = DPOptimizer(optimizer, noise_multiplier=mechanism.noise_multiplier,
                                   max_grad_norm=config.max_grad_norm, expected_batch_size=config.batch_size,
                                   loss_reduction="mean", generator=noise)
    accountant = create_accountant(ACCOUNTANT)
    dp_optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=mechanism.sample_rate))
    return model, dp_optimizer, accountant


def holdout_utility(model: torch.nn.Module, holdout: LabelledImages, tile: int, max_tiles: int,
                    device: str = "cpu") -> dict[str, Any]:
    """AUROC, accuracy and TPR at 1% FPR on the holdout, after Platt calibration fitted on that same holdout.

    Whole images are scored the way the service scores them (``detectors.tiles.tiled_logits``)."""
    labels = np.array([label for _, label in holdout])
    logits = tiled_logits(model, [img for img, _ in holdout], device, tile, max_tiles)
    calibration = fit_platt(logits, labels, TARGET_FPR)
    probabilities = calibration.probability(logits)
    metrics = binary_metrics(labels, probabilities, TARGET_FPR)
    return {"calibration": calibration, "auroc": round(metrics.auc, 4), "accuracy": round(metrics.accuracy_at_0_5, 4),
            "tpr_at_1pct_fpr": round(metrics.tpr_at_1pct_fpr, 4), "n_real": metrics.n_real, "n_fake": metrics.n_fake}


def _finish(config: FinetuneConfig, base: CalibratedImageModel, model: torch.nn.Module, train_set: ImageDataset,
            holdout: LabelledImages, workdir: Path, mechanism: Mechanism | None, state: dict[str, Any],
            validator: dict[str, Any], base_utility: dict[str, Any], started: float) -> FinetuneResult:
    utility = holdout_utility(model, holdout, base.tile, base.max_tiles, next(model.parameters()).device.type)
    calibration = utility.pop("calibration")
    epsilon = epsilon_spent([Mechanism(*h) for h in state["accountant_history"]], config.delta, ACCOUNTANT) \
        if mechanism is not None else None
    labels = [s.label for s in train_set.samples]
    suffix = "dp" if config.private else "nonprivate"
    privacy: dict[str, Any] = {"private": config.private}
    if mechanism is not None:
        privacy.update({
            "epsilon": round(epsilon or 0.0, 4), "delta": config.delta, "target_epsilon": config.target_epsilon,
            "accountant": ACCOUNTANT, "noise_multiplier": mechanism.noise_multiplier,
            "sample_rate": mechanism.sample_rate, "steps": mechanism.steps, "epochs": config.epochs,
            "expected_batch_size": config.batch_size, "sampling": "Poisson", "max_grad_norm": config.max_grad_norm,
            "clipping": "flat, per sample", "accountant_history": state["accountant_history"],
            "opacus": opacus.__version__, "opacus_validator": validator,
            "unit_of_privacy": "one labelled image of the training split (add/remove)",
            "scope": "The guarantee covers the training split. The holdout split is used without DP for "
                     "calibration (2 Platt parameters and a threshold) and the reported metrics.",
        })
    card = {
        "name": f"{config.base_detector}-{suffix}",
        "version": f"{base.card.get('version', '1')}+{suffix}."
                   + (f"eps{config.target_epsilon:g}." if config.private else "") + f"seed{config.seed}",
        "task": base.card.get("task", "synthetic-image detection (1 = synthetic)"),
        "architecture": base.card["architecture"],
        "tiling": base.card["tiling"],
        "preprocessing": base.card.get("preprocessing", ""),
        "crop": "none",
        "base_model": {"name": config.base_detector, "version": base.card.get("version"),
                       "weights_sha256": base.card["weights_sha256"]},
        "training_data": {"source": "tenant upload", "train": {"real": labels.count(0), "fake": labels.count(1)},
                          "holdout": {"real": utility["n_real"], "fake": utility["n_fake"]},
                          "sha256": _fingerprint(train_set),
                          "augmentations": "the detector trainer's post-processing chain, then one random native "
                                           f"{base.tile}px tile per image per step and a flip"},
        "privacy": privacy,
        "training": {"optimizer": f"SGD momentum {MOMENTUM}", "lr": config.learning_rate, "epochs": config.epochs,
                     "tuned_parameters": {"modules": list(trainable_prefixes(model)), "count": sum(
                         p.numel() for n, p in model.named_parameters() if n.startswith(trainable_prefixes(model)))},
                     "batch_size": config.batch_size, "seed": config.seed, "history": state["history"],
                     "resumed_at_epochs": state["resumed_at"], "seconds": round(time.time() - started, 1),
                     "torch": torch.__version__},
        "calibration": {**calibration.to_dict(), "method": "Platt scaling on the tenant's holdout split; "
                        "threshold at 1% FPR on its real images"},
        "metrics_holdout": {k: utility[k] for k in ("auroc", "accuracy", "tpr_at_1pct_fpr", "n_real", "n_fake")},
        "base_metrics_holdout": {k: base_utility[k] for k in ("auroc", "accuracy", "tpr_at_1pct_fpr")},
        "limitations": [("Holdout metrics use the calibration fitted on the same holdout: TPR at 1% FPR is optimistic "
                        "on small holdouts."),
                        "Scores on media unlike the tenant's data are not evidence until measured."],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    weights_path = workdir / "result" / f"{config.base_detector}-{suffix}.safetensors"
    card = save_model(model, card, weights_path)
    metrics = {**card["metrics_holdout"], "history": state["history"]}
    return FinetuneResult(weights_path=weights_path, card=card, mechanism=mechanism, epsilon=epsilon, metrics=metrics)
