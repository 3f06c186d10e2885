"""Heatmaps for reviewers: occlusion sensitivity, and drawing them as PNGs.

Occlusion asks the model itself which regions moved its score: grey out one
patch at a time and measure how far the synthetic score falls. It works for
any architecture and any input size, unlike Grad-CAM on a 2x2 feature map.
A heatmap shows where the network looked, not what is fake.
"""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from detectors.preprocess import MEAN, STD


@torch.no_grad()
def occlusion_map(model: torch.nn.Module, image: torch.Tensor, patch: int | None = None, stride: int | None = None,
                  batch_size: int = 64) -> np.ndarray:
    """Score drop (logit units, >= 0) per patch position for one normalised image (3, H, W)."""
    _, h, w = image.shape
    patch = patch or max(4, h // 8)
    stride = stride or max(2, patch // 2)
    grey = torch.tensor([(0.5 - m) / s for m, s in zip(MEAN, STD)], device=image.device).view(3, 1, 1)
    base = model(image[None]).item()
    positions = [(y, x) for y in range(0, h - patch + 1, stride) for x in range(0, w - patch + 1, stride)]
    drops = np.zeros(len(positions))
    for start in range(0, len(positions), batch_size):
        chunk = positions[start:start + batch_size]
        batch = image.repeat(len(chunk), 1, 1, 1)
        for i, (y, x) in enumerate(chunk):
            batch[i, :, y:y + patch, x:x + patch] = grey
        drops[start:start + len(chunk)] = base - model(batch).cpu().numpy()
    heat = np.zeros((h, w))
    counts = np.zeros((h, w))
    for (y, x), drop in zip(positions, drops):
        heat[y:y + patch, x:x + patch] += max(drop, 0.0)
        counts[y:y + patch, x:x + patch] += 1
    return heat / np.maximum(counts, 1)


def to_png(img: Image.Image) -> bytes:
    """PNG bytes of a picture: the one format detector artifacts travel in."""
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _colormap(values: np.ndarray) -> np.ndarray:
    """A perceptually ordered blue-to-yellow-to-red ramp without matplotlib."""
    v = np.clip(values, 0, 1)[..., None]
    stops = np.array([[0.05, 0.05, 0.35], [0.1, 0.45, 0.8], [0.95, 0.85, 0.2], [0.85, 0.1, 0.1]])
    pos = v * (len(stops) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = pos - lo
    return (stops[lo[..., 0]] * (1 - frac) + stops[lo[..., 0] + 1] * frac) * 255


def overlay_png(base: Image.Image, heat: np.ndarray, alpha: float = 0.5, size: int = 256) -> bytes:
    """The image with the heatmap over it, as PNG bytes (scaled up for viewing)."""
    base = base.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
    peak = heat.max()
    normalised = heat / peak if peak > 0 else heat
    colour = Image.fromarray(_colormap(normalised).astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    return to_png(Image.blend(base, colour, alpha))
