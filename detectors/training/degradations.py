"""What platforms do to images before we see them: re-compression, resizing,
blur, noise and crops. Training applies them at random to reals and fakes
alike (so format and compression are never a shortcut), and evaluation
applies each one separately so its effect is measured on its own.
"""
from __future__ import annotations

import io
from collections.abc import Callable

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


def blur(sigma: float) -> Degradation:
    return lambda img: img.filter(ImageFilter.GaussianBlur(sigma))


def noise(std: float, seed: int = 0) -> Degradation:
    def apply(img: Image.Image) -> Image.Image:
        rng = np.random.default_rng(seed)
        arr = np.asarray(img, dtype=np.float32) + rng.normal(0, std, (img.size[1], img.size[0], 3))
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))

    return apply


def screenshot(img: Image.Image) -> Image.Image:
    """What a screenshot or a messenger does: an arbitrary downscale, then JPEG 85."""
    return jpeg(85)(rescale_once(0.75, Image.Resampling.BICUBIC)(img))


def rescale_once(factor: float, method: Image.Resampling = Image.Resampling.BILINEAR) -> Degradation:
    """Resample to ``factor`` of the size and keep it there (a platform's resize; the size really changes)."""

    def apply(img: Image.Image) -> Image.Image:
        w, h = img.size
        return img.resize((max(8, round(w * factor)), max(8, round(h * factor))), method)

    return apply


# The named degradations every evaluation reports, one at a time.
EVALUATION_DEGRADATIONS: dict[str, Degradation] = {
    "clean": lambda img: img,
    "jpeg90": jpeg(90),
    "jpeg75": jpeg(75),
    "jpeg50": jpeg(50),
    "resize0.5": rescale_once(0.5),
    "blur1.0": blur(1.0),
    "noise5": noise(5.0),
    "crop0.8": lambda img: img.crop((round(img.width * 0.1), round(img.height * 0.1),
                                     round(img.width * 0.9), round(img.height * 0.9))),
    "screenshot": screenshot,
}

_RESAMPLERS = (Image.Resampling.NEAREST, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC,
               Image.Resampling.LANCZOS, Image.Resampling.BOX)


def random_degradation(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The post-processing chain every training image goes through, real and fake alike.

    Resampling 0.5-2x with a random filter (often: upscaled real photos are
    common and must not look generated), blur, noise and JPEG 30-100, each
    at random, so that no size, sharpness or compression history can separate
    the classes; only what generation left behind can.
    """
    if rng.random() < 0.4:
        method = _RESAMPLERS[int(rng.integers(len(_RESAMPLERS)))]
        img = rescale_once(float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))), method)(img)
    if rng.random() < 0.15:
        img = blur(float(rng.uniform(0.3, 1.5)))(img)
    if rng.random() < 0.15:
        img = noise(float(rng.uniform(1.0, 6.0)), seed=int(rng.integers(1 << 31)))(img)
    if rng.random() < 0.6:
        img = jpeg(int(rng.integers(30, 101)))(img)
    return img


def match_history(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Give a generated image the compression history our real photos have (they are all JPEGs).

    Applied to fakes only, before the shared chain: without it "has JPEG
    blocks" would mean "real" to the model.
    """
    if rng.random() < 0.6:
        img = jpeg(int(rng.integers(70, 98)))(img)
    return img
