"""What platforms do to images before we see them: re-compression, resizing,
blur, noise and crops. Training applies them at random to reals and fakes
alike (so format and compression are never a shortcut), and evaluation
applies each one separately so its effect is measured on its own.
"""
from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image, ImageFilter

Degradation = Callable[[Image.Image], Image.Image]


def jpeg(quality: int) -> Degradation:
    def apply(img: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        buf.seek(0)
        return Image.open(buf).convert("RGB")

    return apply


def rescale(factor: float) -> Degradation:
    """Down- (or up-) scale and back, as a platform's resizing does."""

    def apply(img: Image.Image) -> Image.Image:
        w, h = img.size
        small = img.resize((max(8, round(w * factor)), max(8, round(h * factor))), Image.Resampling.BILINEAR)
        return small.resize((w, h), Image.Resampling.BILINEAR)

    return apply


def blur(sigma: float) -> Degradation:
    return lambda img: img.filter(ImageFilter.GaussianBlur(sigma))


def noise(std: float, seed: int = 0) -> Degradation:
    def apply(img: Image.Image) -> Image.Image:
        rng = np.random.default_rng(seed)
        arr = np.asarray(img, dtype=np.float32) + rng.normal(0, std, (img.size[1], img.size[0], 3))
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))

    return apply


def center_crop(fraction: float) -> Degradation:
    def apply(img: Image.Image) -> Image.Image:
        w, h = img.size
        cw, ch = round(w * fraction), round(h * fraction)
        left, top = (w - cw) // 2, (h - ch) // 2
        return img.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BILINEAR)

    return apply


# The named degradations every evaluation reports, one at a time.
EVALUATION_DEGRADATIONS: dict[str, Degradation] = {
    "clean": lambda img: img,
    "jpeg90": jpeg(90),
    "jpeg75": jpeg(75),
    "jpeg40": jpeg(40),
    "resize0.5": rescale(0.5),
    "blur1.0": blur(1.0),
    "noise5": noise(5.0),
    "crop0.8": center_crop(0.8),
}


def random_degradation(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The training-time mix: JPEG 30-95 most of the time, plus resize, blur, noise, crops."""
    if rng.random() < 0.3:
        img = center_crop(float(rng.uniform(0.75, 1.0)))(img)
    if rng.random() < 0.3:
        img = rescale(float(rng.uniform(0.5, 1.5)))(img)
    if rng.random() < 0.2:
        img = blur(float(rng.uniform(0.3, 1.5)))(img)
    if rng.random() < 0.2:
        img = noise(float(rng.uniform(1.0, 8.0)), seed=int(rng.integers(1 << 31)))(img)
    if rng.random() < 0.7:
        img = jpeg(int(rng.integers(30, 96)))(img)
    return img
