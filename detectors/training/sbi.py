"""Self-blended images (SBI) for training face-forgery detectors.

Reimplemented from the description in Shiohara & Yamasaki, "Detecting
Deepfakes with Self-Blended Images" (CVPR 2022); no code was copied. A fake is
made from one real face alone: a slightly altered copy of the photo (the
"source": colour jitter, a small scale and shift, blur or sharpen) is blended
into the original (the "target") through a soft, randomly deformed mask over
the central face. The result carries the generic traces of a face swap (a
blending boundary, colour and sharpness mismatch, slight misalignment) while
sharing everything else with its real, which keeps a detector from learning
identity or content shortcuts.

Numpy and PIL only; about a millisecond or two for a 200x200 face.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageStat

BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)


def _jitter_colour(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Brightness, contrast and per-channel (hue-ish) gain and shift, as one per-channel lookup table."""
    mean = ImageStat.Stat(img).mean
    contrast = rng.uniform(0.85, 1.15)
    brightness = rng.uniform(-20.0, 20.0)
    channel_shift = rng.uniform(-12.0, 12.0, size=3)
    channel_gain = rng.uniform(0.93, 1.07, size=3)
    levels = np.arange(256, dtype=np.float64)
    lut = [((levels - mean[c]) * contrast + mean[c]) * channel_gain[c] + brightness + channel_shift[c]
           for c in range(3)]
    table = np.clip(np.rint(np.concatenate(lut)), 0, 255).astype(np.uint8)
    return img.point(table.tolist())


def _scale_shift(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Scale by 0.93-1.07 about the centre and shift by up to 4% of the size (bilinear, edges replicated)."""
    w, h = img.size
    s = rng.uniform(0.93, 1.07)
    tx = rng.uniform(-0.04, 0.04) * w
    ty = rng.uniform(-0.04, 0.04) * h
    pad = int(np.ceil(0.12 * max(w, h))) + 2  # covers the largest shrink plus shift: no empty border
    padded = Image.fromarray(np.pad(np.asarray(img), ((pad, pad), (pad, pad), (0, 0)), mode="edge"))
    cx, cy = w / 2.0, h / 2.0
    # PIL's affine maps output (x, y) to input (a x + b y + c, d x + e y + f); input is the padded image
    a = 1.0 / s
    data = (a, 0.0, cx - a * (cx + tx) + pad, 0.0, a, cy - a * (cy + ty) + pad)
    return padded.transform((w, h), Image.Transform.AFFINE, data=data, resample=Image.Resampling.BILINEAR)


def _blur_or_sharpen(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random 3x3 blur (separable [1, c, 1]) or unsharp-mask sharpen; one cheap C convolution."""
    c = rng.uniform(1.2, 4.0)  # smaller centre weight: stronger blur
    row = np.array([1.0, c, 1.0])
    blur = np.outer(row, row) / (c + 2.0) ** 2
    if rng.random() < 0.5:
        kernel = blur
    else:
        amount = rng.uniform(0.3, 1.2)
        delta = np.zeros((3, 3))
        delta[1, 1] = 1.0
        kernel = (1.0 + amount) * delta - amount * blur
    return img.filter(ImageFilter.Kernel((3, 3), kernel.reshape(-1).tolist(), scale=1.0))


def make_source(face: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The altered copy of ``face`` that gets blended back in."""
    rgb = face.convert("RGB")
    jittered = _jitter_colour(rgb, rng)
    return _blur_or_sharpen(_scale_shift(jittered, rng), rng)


def _mask_image(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """The blurred face mask as an 8-bit image, peak scaled to 255."""
    w, h = size
    cx = w * (0.5 + rng.uniform(-0.04, 0.04))
    cy = h * (0.55 + rng.uniform(-0.05, 0.04))
    rx = w * rng.uniform(0.24, 0.36)
    ry = h * rng.uniform(0.28, 0.40)
    theta = np.linspace(0.0, 2.0 * np.pi, 72, endpoint=False)
    radius = np.ones_like(theta)
    for k in (2, 3, 4, 5):
        radius += rng.uniform(0.0, 0.08 / (k - 1)) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    xs = cx + rx * radius * np.cos(theta)
    ys = cy + ry * radius * np.sin(theta)
    im = Image.new("L", (w, h), 0)
    ImageDraw.Draw(im).polygon(list(zip(xs.tolist(), ys.tolist())), fill=255)
    blur = float(rng.uniform(0.02, 0.08)) * min(w, h)
    im = im.filter(ImageFilter.GaussianBlur(radius=max(0.5, blur)))
    peak = im.getextrema()[1]
    if 0 < peak < 255:
        im = im.point([min(255, round(v * 255 / peak)) for v in range(256)])
    return im


def face_blend_mask(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Soft mask (HxW float32 in [0,1], peak 1) over the central face of an aligned crop.

    An ellipse with jittered centre, size and aspect, its radius deformed by a
    few random low-order harmonics, then Gaussian-blurred with a random radius.
    """
    return np.asarray(_mask_image(size, rng), dtype=np.float32) / 255.0


def self_blend_with_mask(face: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    """Self-blended fake of ``face`` and the blend weight used (HxW float32 in [0,1], 8-bit steps).

    Output = alpha * source + (1 - alpha) * face, with alpha = mask * ratio and
    ratio drawn from {0.25, 0.5, 0.75, 1, 1, 1}. Where alpha is 0 the output
    equals the input exactly. Same size as the input, RGB uint8.
    """
    target = face.convert("RGB")
    source = make_source(target, rng)
    ratio = BLEND_RATIOS[int(rng.integers(len(BLEND_RATIOS)))]
    mask = _mask_image(target.size, rng)
    if ratio != 1.0:
        mask = mask.point([round(v * ratio) for v in range(256)])
    out = Image.composite(source, target, mask)  # C loop; exact target where mask is 0
    return out, np.asarray(mask, dtype=np.float32) / 255.0


def self_blend(face: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Self-blended fake of an aligned face photo (see :func:`self_blend_with_mask`)."""
    return self_blend_with_mask(face, rng)[0]
