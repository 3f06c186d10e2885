"""Detectors that exist only for tests, loaded through the plugin setting
(FORENSICS_DETECTOR_PLUGINS) exactly as a deployer's own detector would be.

They compute real (if simple) statistics of the file so the pipeline is
exercised end to end; they are not models and claim nothing about fakes.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.explain import to_png
from detectors.registry import register_detector, unregister_detector


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


# --- Evidence-only detectors for the console's pictures and highlights -------
# They never judge (NOT_APPLICABLE), so fusion and every other test's verdicts
# are unchanged; they only produce the evidence shapes the real detectors emit.
EVIDENCE_ONLY = "test detector: draws evidence for the console, does not judge"


@register_detector
class SpansDetector(Detector):
    """Word spans labelled by word length (even: "machine", odd: "human"), weight by length."""

    name = "test-spans"
    version = "1.0"
    media_types = frozenset({MediaType.TEXT})
    MAX_SPANS = 3000

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        import re

        out = []
        for media in batch:
            words = list(re.finditer(r"\w+", media.text or ""))
            spans = [{"start": m.start(), "end": m.end(), "label": "machine" if len(m.group()) % 2 == 0 else "human",
                      "weight": round(min(1.0, len(m.group()) / 10), 3)} for m in words[: self.MAX_SPANS]]
            evidence = {"spans": spans, "spans_legend": {"machine": "even-length word", "human": "odd-length word"}}
            if len(words) > self.MAX_SPANS:
                evidence["spans_truncated"] = True
            out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason=EVIDENCE_ONLY,
                               evidence=evidence))
        return out


@register_detector
class HeatmapDetector(Detector):
    """A brightness "heatmap" over the centre square, without a ``heatmap_box`` (the framing the UI falls back to
    for results stored before detectors said where their heatmap sits); the brightest quarter as a box."""

    name = "test-heatmap"
    version = "1.0"
    media_types = frozenset({MediaType.IMAGE})

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        from detectors.explain import overlay_png
        from detectors.preprocess import fit_square

        out = []
        for media in batch:
            with Image.open(media.path) as img:
                rgb = img.convert("RGB")
            grey = np.asarray(rgb.convert("L"), dtype=np.float32) / 255.0
            square = fit_square(rgb, 64)
            heat = np.asarray(square.convert("L").resize((8, 8)), dtype=np.float32) / 255.0
            h, w = grey.shape
            quarters = [(x, y) for y in (0, h // 2) for x in (0, w // 2)]
            x, y = max(quarters, key=lambda q: grey[q[1]:q[1] + h // 2, q[0]:q[0] + w // 2].mean())
            score = float(grey[y:y + h // 2, x:x + w // 2].mean())
            faces = [{"box": [float(x), float(y), float(x + w // 2), float(y + h // 2)], "score": round(score, 4)}]
            out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, threshold=0.5,
                               reason=EVIDENCE_ONLY, evidence={"faces": faces},
                               artifacts={"heatmap": overlay_png(square, heat)}))
        return out


@register_detector
class TimelineDetector(Detector):
    """Mean brightness of each sampled frame, as a per-frame timeline like video-faces draws."""

    name = "test-timeline"
    version = "1.0"
    media_types = frozenset({MediaType.VIDEO})

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        from detectors.video import sample_frames, timeline_png

        out = []
        for media in batch:
            frames = [{"frame": f.index, "seconds": round(f.seconds, 3),
                       "score": round(float(np.asarray(f.image.convert("L")).mean() / 255.0), 4)}
                      for f in sample_frames(media.path, fps=4.0, max_frames=32)]
            picture = timeline_png([(f["seconds"], f["score"]) for f in frames], 0.5)
            out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, threshold=0.5,
                               reason=EVIDENCE_ONLY, evidence={"timeline": frames},
                               artifacts={"timeline": picture}))
        return out


@contextmanager
def raising_detector(message: str, name: str = "test-broken") -> Iterator[str]:
    """While inside, an image detector ``name`` is registered whose every prediction raises RuntimeError(message):
    how a job meets a crashing model (a missing weights file, an exploded forward pass)."""

    class Raising(Detector):
        version = "0"
        media_types = frozenset({MediaType.IMAGE})

        def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
            raise RuntimeError(message)

    Raising.name = name
    register_detector(Raising)
    try:
        yield name
    finally:
        unregister_detector(name)
