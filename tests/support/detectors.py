"""Detectors that exist only for tests, loaded through the plugin setting
(FORENSICS_DETECTOR_PLUGINS) exactly as a deployer's own detector would be.

They compute real (if simple) statistics of the file so the pipeline is
exercised end to end; they are not models and claim nothing about fakes.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.explain import to_png
from detectors.registry import register_detector


@register_detector
class BrightnessDetector(Detector):
    """Score = mean brightness; threshold 0.5. Bright images count as 'synthetic'."""

    name = "test-brightness"
    version = "1.0"
    media_types = frozenset({MediaType.IMAGE})

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        out = []
        for media in batch:
            with Image.open(media.path) as img:
                score = float(np.asarray(img.convert("L"), dtype=np.float32).mean() / 255.0)
            label = FindingLabel.SYNTHETIC if score >= 0.5 else FindingLabel.AUTHENTIC
            with Image.open(media.path) as img:
                picture = to_png(img.convert("L").resize((64, 64)))
            out.append(Finding(self.name, self.version, label, score=score, threshold=0.5,
                               evidence={"mean_brightness": score}, artifacts={"brightness": picture}))
        return out


@register_detector
class GatedDetector(Detector):
    """Blocks while a gate file is absent, so a test can kill the worker mid-job.

    Active only when FORENSICS_TEST_GATE_DIR is set; otherwise not applicable.
    """

    name = "test-gated"
    version = "1.0"
    media_types = frozenset({MediaType.IMAGE})

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        gate_dir = os.environ.get("FORENSICS_TEST_GATE_DIR")
        if not gate_dir:
            return [Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason="no gate configured")
                    for _ in batch]
        gate = Path(gate_dir)
        (gate / f"started-{os.getpid()}").touch()
        deadline = time.monotonic() + 60
        while not (gate / "open").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return [Finding(self.name, self.version, FindingLabel.AUTHENTIC, score=0.1, threshold=0.5) for _ in batch]
