"""Plumbing shared by the generator families: seeding, devices, safetensors
checkpoints with their config, hashing and PNG output.

Kept in one place so that every family saves, hashes and reproduces its
outputs the same way; the audit trail and the detector model cards rely on
the checkpoint sha256 and the config stored inside the checkpoint.
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open

from detectors.cards import save_safetensors, sha256_file
from detectors.device import resolve_device as resolve_device_spec

CHECKPOINT_FORMAT_VERSION = "1"


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch, and return a CPU generator for explicit draws.

    Explicit CPU generators are used for every random draw that decides an
    output (noise, batch order), so that the same seed gives the same pixels on
    CPU and the same noise on CUDA, independent of global RNG state.
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator(device="cpu").manual_seed(seed)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``detectors.device.resolve_device`` (the one reading of a device spec) as a ``torch.device``.

    Fails loudly when CUDA is asked for but absent rather than silently training for hours on the CPU.
    """
    return torch.device(resolve_device_spec(str(device) if device is not None else "auto"))


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-safe dict of a dataclass config (tuples become lists)."""
    data = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    return json.loads(json.dumps(data))


def config_from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    """Build a config dataclass from a dict, ignoring unknown keys from newer versions
    and restoring tuples, so old checkpoints stay loadable."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            continue
        if isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def apply_overrides(config: Any, overrides: Mapping[str, Any]) -> Any:
    """Return a copy of ``config`` with ``overrides`` applied; unknown keys are an error
    so that a typo on the command line never trains the wrong model silently."""
    names = {f.name: f for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"unknown config field(s) for {type(config).__name__}: {', '.join(unknown)}")
    clean = {}
    for key, value in overrides.items():
        current = getattr(config, key)
        if isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        clean[key] = value
    return dataclasses.replace(config, **clean)


def save_checkpoint(
    path: str | os.PathLike[str],
    tensors: Mapping[str, torch.Tensor],
    family: str,
    config: Any,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Write ``tensors`` as safetensors (never pickle) with the config in the metadata,
    plus the same config as ``<name>.json`` beside it for humans. Returns the sha256.

    safetensors cannot execute code on load, which matters because checkpoints
    travel between engineers and machines.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = config_to_dict(config)
    meta = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "family": family,
        "config": json.dumps(cfg, sort_keys=True),
        "extra": json.dumps(dict(extra or {}), sort_keys=True),
    }
    flat = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    save_safetensors(flat, path, metadata=meta)
    sidecar = {"family": family, "config": cfg, "extra": dict(extra or {}), "weights": path.name}
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return sha256_file(path)


def load_checkpoint(
    path: str | os.PathLike[str], expected_family: str | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns ``(tensors, info)`` where info has ``family``, ``config`` (dict),
    ``extra`` (dict) and ``sha256``. Refuses a checkpoint of another family so
    a diffusion file is never loaded into a GAN by mistake.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        meta = handle.metadata() or {}
        for key in handle.keys():  # noqa: SIM118 - safetensors' handle has keys() but is not iterable
            tensors[key] = handle.get_tensor(key)
    family = meta.get("family")
    if expected_family is not None and family != expected_family:
        raise ValueError(f"{path} is a {family!r} checkpoint, expected {expected_family!r}")
    info = {
        "family": family,
        "config": json.loads(meta.get("config", "{}")),
        "extra": json.loads(meta.get("extra", "{}")),
        "sha256": sha256_file(path),
        "path": str(path),
    }
    return tensors, info


def prefixed(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Namespace a module's state dict inside one safetensors file."""
    return {f"{prefix}.{k}": v for k, v in state.items()}


def unprefixed(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Inverse of :func:`prefixed`."""
    head = prefix + "."
    return {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}


def to_uint8_images(batch: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """(N,3,H,W) float tensor in ``value_range`` -> (N,H,W,3) uint8 array."""
    lo, hi = value_range
    x = batch.detach().to("cpu", torch.float32).clamp(lo, hi)
    x = (x - lo) / (hi - lo)
    return (x.permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).astype(np.uint8)


def save_pngs(images: Iterable[np.ndarray], out_dir: str | os.PathLike[str], prefix: str, start: int = 0) -> list[Path]:
    """Save uint8 HxWx3 arrays as PNG files ``{prefix}_{index:05d}.png``.

    PNG is lossless so the caller can re-encode however it likes. Detector
    training must give reals and fakes the same formats, sizes and compression
    history (see FIELD_NOTES: a detector learned "PNG means fake"), so re-encode
    these like the reals before training a detector on them.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for offset, image in enumerate(images):
        path = out / f"{prefix}_{start + offset:05d}.png"
        Image.fromarray(image).save(path, format="PNG")
        paths.append(path)
    return paths


def save_grid(images: np.ndarray | list[np.ndarray], path: str | os.PathLike[str], nrow: int = 8, pad: int = 2) -> Path:
    """Tile uint8 HxWx3 images into one PNG for a quick visual check."""
    arr = [np.asarray(im) for im in images]
    if not arr:
        raise ValueError("no images to tile")
    h = max(a.shape[0] for a in arr)
    w = max(a.shape[1] for a in arr)
    ncol = min(nrow, len(arr))
    nrows = (len(arr) + ncol - 1) // ncol
    canvas = np.full((nrows * (h + pad) + pad, ncol * (w + pad) + pad, 3), 255, np.uint8)
    for i, a in enumerate(arr):
        r, c = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y : y + a.shape[0], x : x + a.shape[1]] = a[..., :3]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path, format="PNG")
    return path


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return path
