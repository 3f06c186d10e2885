"""What platforms do to images before we see them: re-compression, resizing,
blur, noise and crops. Training applies them at random to reals and fakes
alike (so format and compression are never a shortcut), and evaluation
applies each one separately so its effect is measured on its own.
"""
from __future__ import annotations

import io
import re
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

# Any strength of these, by name: "blur2.0", "jpeg60", "resize0.75", "noise3" (for sweeps beyond the fixed set).
_SWEEPABLE: dict[str, Callable[[float], Degradation]] = {
    "jpeg": lambda q: jpeg(int(q)), "blur": blur, "resize": rescale_once, "noise": noise}
_SWEEP_NAME = re.compile(r"^(jpeg|blur|resize|noise)(\d+(?:\.\d+)?)$")


def degradation_named(name: str) -> Degradation:
    """One of EVALUATION_DEGRADATIONS, or a sweepable kind at any strength; a clear error for anything else."""
    if name in EVALUATION_DEGRADATIONS:
        return EVALUATION_DEGRADATIONS[name]
    match = _SWEEP_NAME.match(name)
    if match is None:
        raise ValueError(f"unknown degradation {name!r}; known: {', '.join(EVALUATION_DEGRADATIONS)}, or "
                         "jpegQ / blurSIGMA / resizeFACTOR / noiseSTD at any strength (e.g. blur2.0, jpeg60)")
    kind, value = match.group(1), float(match.group(2))
    if (kind == "jpeg" and not 1 <= value <= 100) or (kind == "resize" and not 0 < value <= 4):
        raise ValueError(f"{name!r}: JPEG quality must be 1-100 and a resize factor in (0, 4]")
    return _SWEEPABLE[kind](value)


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


def match_softness(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Give a real photo the softness generated images have: a blur of sigma 0.5-1.5.

    The counterpart of :func:`match_history`, for reals. Decoders, denoisers
    and diffusion models hand back slightly soft images, so softness belongs
    to every fake and only to the reals that the shared chain happens to
    blur: "soft at sigma 1" then means "generated" (the shipped 2.1 model
    flags 54% of BSDS500 test photos blurred at sigma 1, 1.5% unblurred).
    Out-of-focus, denoised and upscaled photos are common in the wild.
    """
    return blur(float(rng.uniform(0.5, 1.5)))(img)


def match_sharpness(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Sharpen a generated image (unsharp mask, radius 0.5-1.5 px, 50-150%), as cameras and platforms sharpen.

    The fakes' side of :func:`match_softness`: with soft reals alone, left-out
    decoders fell from 0.78 to 0.56, because softness was how they were found.
    Sharpening some fakes too spreads softness over both classes.
    """
    radius, percent = float(rng.uniform(0.5, 1.5)), int(rng.integers(50, 151))
    return img.filter(ImageFilter.UnsharpMask(radius=radius, percent=percent, threshold=0))


def match_history(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Give a generated image the compression history our real photos have (they are all JPEGs).

    Applied to fakes only, before the shared chain: without it "has JPEG
    blocks" would mean "real" to the model.
    """
    if rng.random() < 0.6:
        img = jpeg(int(rng.integers(70, 98)))(img)
    return img
