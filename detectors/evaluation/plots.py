"""ROC curves as a PNG, drawn with Pillow (no plotting library needed on a server)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from detectors.evaluation.metrics import roc_curve
from detectors.explain import to_png

PALETTE = [(31, 95, 191), (220, 40, 40), (40, 160, 70), (200, 130, 0), (120, 60, 180), (0, 150, 160)]


def roc_png(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str = "ROC", size: int = 520) -> bytes:
    """``curves``: (label, labels, scores). Log-free linear axes, diagonal for chance, legend with AUC."""
    from detectors.evaluation.metrics import auc_score

    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = 50, 30, size - 15, size - 45
    draw.rectangle([left, top, right, bottom], outline=(180, 180, 180))
    draw.line([left, bottom, right, top], fill=(200, 200, 200))
    for v in (0.0, 0.5, 1.0):
        x = left + v * (right - left)
        y = bottom - v * (bottom - top)
        draw.text((x - 8, bottom + 6), f"{v:.1f}", fill=(90, 90, 90))
        draw.text((left - 30, y - 6), f"{v:.1f}", fill=(90, 90, 90))
    draw.text((left + (right - left) // 2 - 60, bottom + 22), "false-positive rate", fill=(60, 60, 60))
    draw.text((left, 8), title, fill=(20, 20, 20))
    for i, (label, y_true, y_score) in enumerate(curves):
        colour = PALETTE[i % len(PALETTE)]
        fpr, tpr, _ = roc_curve(y_true, y_score)
        points = [(left + f * (right - left), bottom - t * (bottom - top)) for f, t in zip(fpr, tpr)]
        draw.line(points, fill=colour, width=2)
        draw.text((left + 180, bottom - 20 - 16 * (len(curves) - i)), f"{label}  AUC {auc_score(y_true, y_score):.3f}",
                  fill=colour)
    return to_png(img)
