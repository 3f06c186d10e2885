"""A base detector for private fine-tuning tests, loaded through FORENSICS_DETECTOR_PLUGINS in a worker.

It is ``synthetic-image`` (same weights and card) whose TRAINING forward passes stop at a gate after a given
number, so a test can kill the worker in the middle of a job at a known point (after the first epoch's
checkpoint). It applies to no media type, so the analysis pipeline never runs it.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from detectors.registry import register_detector
from detectors.synthetic_image import SyntheticImageDetector


def _gate(gate: Path, after: int):  # type: ignore[no-untyped-def]
    calls = 0

    def hook(module: torch.nn.Module, args: object) -> None:
        nonlocal calls
        if not module.training:
            return
        calls += 1
        if calls == after + 1:
            (gate / f"paused-{os.getpid()}").touch()
            deadline = time.monotonic() + 120
            while not (gate / "open").exists() and time.monotonic() < deadline:
                time.sleep(0.1)

    return hook


@register_detector
class GatedTrainingDetector(SyntheticImageDetector):
    name = "test-gated-training"
    media_types = frozenset()

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", weights: str | None = None) -> None:
        super().__init__(models_dir, device, weights)
        gate = os.environ.get("FORENSICS_TEST_TRAIN_GATE_DIR")
        if gate:
            after = int(os.environ.get("FORENSICS_TEST_TRAIN_GATE_AFTER", "1"))
            self.model.model.register_forward_pre_hook(_gate(Path(gate), after))
