"""How often the verdict users see flags real photos: the fused verdict's false-positive rate.

Each detector is calibrated for about 1% false positives on its own, but the
verdict is ``likely_synthetic`` when *any* detector reaches its threshold, so
its false-positive rate is what matters and can only be measured, not read
off a model card. This scores folders of real photos (and, optionally, fakes)
through the same detectors and the same fusion the pipeline runs.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from detectors.base import MediaInput, MediaType, checked_predict
from detectors.training.data import image_files
from forensics.fusion import fuse
from forensics.models import Verdict
from forensics.pipeline import applicable_detectors, detector_for

log = logging.getLogger(__name__)


def _sample(folder: Path, limit: int, seed: int) -> list[Path]:
    files = image_files(folder)
    if len(files) > limit:
        rng = np.random.default_rng(seed)
        files = sorted(files[i] for i in rng.choice(len(files), limit, replace=False))
    return files


def verdict_rates(folder: Path, limit: int = 200, seed: int = 0,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Fused verdicts over up to ``limit`` images of ``folder``, and how often each detector flagged."""
    names = applicable_detectors(MediaType.IMAGE)
    detectors = [detector_for(name, None) for name in names]
    files = _sample(folder, limit, seed)
    verdicts: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    decided_by: Counter[str] = Counter()
    for index, path in enumerate(files):
        media = MediaInput(MediaType.IMAGE, path=path)
        findings = [checked_predict(d, [media])[0] for d in detectors]
        for f in findings:
            if f.score is not None and f.threshold is not None and f.score >= f.threshold:
                flagged[f.detector] += 1
        verdict = fuse(findings)
        verdicts[verdict.verdict.value] += 1
        if verdict.verdict is Verdict.LIKELY_SYNTHETIC and verdict.decided_by:
            decided_by[verdict.decided_by] += 1
        if progress:
            progress(index + 1, len(files))
    n = max(len(files), 1)
    return {"folder": str(folder), "images": len(files), "detectors": names,
            "verdicts": {k: round(v / n, 4) for k, v in sorted(verdicts.items())},
            "flagged_by_detector": {name: round(flagged[name] / n, 4) for name in names},
            "likely_synthetic_decided_by": dict(sorted(decided_by.items()))}
