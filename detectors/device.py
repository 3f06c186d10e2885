"""Choosing where models run: the one place that interprets a device spec (FORENSICS_DEVICE, ``--device``)."""
from __future__ import annotations

import torch


def resolve_device(spec: str = "auto") -> str:
    """``auto`` picks the first CUDA device when there is one, else the CPU."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} was asked for (FORENSICS_DEVICE or --device) but CUDA is not "
                           "available on this machine; use 'cpu' or 'auto'")
    return spec
