"""Weights (safetensors) and their model cards (JSON) — kept side by side.

A card records what the model was trained on, which generators it saw, its
metrics on held-out data, the command that reproduces it and the SHA-256 of
the weights file, which the audit trail records for every analysis.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 of a file: the content hash the audit trail records for weights."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def save_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write a safetensors file whose bytes depend only on its content.

    The library writes the header's metadata in hash-map order, which varies
    between calls, so the same weights could hash differently; the weights'
    SHA-256 is what model cards and the audit trail pin. The header is
    re-emitted with sorted keys (same length, so data offsets are unchanged).
    """
    raw = safetensors_bytes(tensors, metadata=metadata)
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(canonical) > length:  # never expected: the library's header is compact too
        raise ValueError(f"cannot canonicalise the safetensors header of {path}")
    path.write_bytes(raw[:8] + canonical.ljust(length, b" ") + raw[8 + length :])


def save_model(module: torch.nn.Module, card: dict[str, Any], weights_path: Path) -> dict[str, Any]:
    """Write fp16 weights (small enough to commit) and the card with the weights' hash."""
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype).contiguous()
             for k, v in module.state_dict().items()}
    save_safetensors(state, weights_path, metadata={"format": "pt", "name": str(card.get("name", ""))})
    weights_path.chmod(0o644)
    card = {**card, "weights_file": weights_path.name, "weights_sha256": sha256_file(weights_path)}
    card_path(weights_path).write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    return card


def card_path(weights_path: Path) -> Path:
    return weights_path.with_suffix(".json")


def load_card(weights_path: Path) -> dict[str, Any]:
    path = card_path(weights_path)
    if not path.exists():
        raise FileNotFoundError(f"model card {path} is missing; every weights file needs one")
    return json.loads(path.read_text())


def load_weights(module: torch.nn.Module, weights_path: Path, *, verify: bool = True) -> dict[str, Any]:
    """Load safetensors weights into ``module`` (never a pickle) and return the card."""
    if not weights_path.exists():
        raise FileNotFoundError(
            f"weights {weights_path} not found: train them (manage.py train_detector) or set FORENSICS_MODELS_DIR"
        )
    card = load_card(weights_path)
    if verify and card.get("weights_sha256") != sha256_file(weights_path):
        raise ValueError(f"{weights_path} does not match the SHA-256 in its model card")
    state = load_file(str(weights_path))
    reference = module.state_dict()
    module.load_state_dict({k: v.to(reference[k].dtype) for k, v in state.items()})
    return card
