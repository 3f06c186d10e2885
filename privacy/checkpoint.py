"""Per-epoch checkpoints of a fine-tuning job, so a crashed worker resumes instead of spending budget twice.

Tensors (model weights in fp32, optimizer momentum, RNG states) go to safetensors and everything else to JSON;
nothing is pickled. Both files are written to temporary names and renamed, so a crash mid-write leaves the
previous epoch's checkpoint intact.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

STATE = "checkpoint.json"


@dataclass
class Checkpoint:
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]           # torch optimizer state_dict
    generators: dict[str, torch.Tensor]  # name -> torch.Generator.get_state()
    state: dict[str, Any]                # epoch, steps, accountant history, job identity, per-epoch history


def _replace(tmp: Path, final: Path) -> None:
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)


def save_checkpoint(workdir: Path, checkpoint: Checkpoint) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in checkpoint.model.items()}
    tensors.update({f"rng.{k}": v.cpu().contiguous() for k, v in checkpoint.generators.items()})
    for index, slots in checkpoint.optimizer["state"].items():
        for slot, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{slot}"] = value.detach().cpu().contiguous()
    name = f"epoch-{int(checkpoint.state['epoch']):04d}.safetensors"
    state = {**checkpoint.state, "tensors": name, "param_groups": checkpoint.optimizer["param_groups"]}
    # The JSON is the commit point: it is renamed last and names the tensors file of its own epoch, so a
    # crash between the two writes leaves the previous, consistent pair in place.
    save_file(tensors, str(workdir / f"{name}.tmp"))
    _replace(workdir / f"{name}.tmp", workdir / name)
    (workdir / f"{STATE}.tmp").write_text(json.dumps(state, indent=1))
    _replace(workdir / f"{STATE}.tmp", workdir / STATE)
    for old in workdir.glob("epoch-*.safetensors"):
        if old.name != name:
            old.unlink()


def load_checkpoint(workdir: Path) -> Checkpoint | None:
    """The last complete checkpoint in ``workdir``, or None when the job has not finished an epoch yet."""
    if not (workdir / STATE).exists():
        return None
    state = json.loads((workdir / STATE).read_text())
    tensors = load_file(str(workdir / state.pop("tensors")))
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    generators = {k[len("rng."):]: v for k, v in tensors.items() if k.startswith("rng.")}
    optim_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, slot = key.split(".", 2)
            optim_state.setdefault(int(index), {})[slot] = value
    optimizer = {"state": optim_state, "param_groups": state.pop("param_groups")}
    return Checkpoint(model=model, optimizer=optimizer, generators=generators, state=state)
