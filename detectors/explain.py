"""Pictures for reviewers: tile maps ("where the traces are") and drawing them as PNGs.

The artifact detectors score an image as native-resolution tiles, so the
per-tile probabilities are already a map of where generation traces were
found, from the same model and at no extra cost (an occlusion map needed a
forward pass per patch).
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw


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


def tile_map_png(image: Image.Image, boxes: Sequence[tuple[int, int, int]], probabilities: Sequence[float] | np.ndarray,
                 threshold: float, longest_side: int = 384) -> bytes:
    """The image with each scored tile tinted by its probability (blue low, red high) and outlined red at or
    above ``threshold``; the picture keeps the image's aspect ratio so it can sit exactly over it."""
    base = image.convert("RGB")
    factor = longest_side / max(base.size)
    size = (max(1, round(base.width * factor)), max(1, round(base.height * factor)))
    canvas = base.resize(size, Image.Resampling.BICUBIC).convert("RGBA")
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    colours = _colormap(np.asarray(probabilities, dtype=np.float64))
    for (x, y, side), colour, p in zip(boxes, colours, probabilities):
        rect = [x * factor, y * factor, min((x + side) * factor, size[0]) - 1, min((y + side) * factor, size[1]) - 1]
        draw.rectangle(rect, fill=(*(int(c) for c in colour), 120),
                       outline=(230, 30, 30, 255) if p >= threshold else None, width=2)
    return to_png(Image.alpha_composite(canvas, layer).convert("RGB"))
