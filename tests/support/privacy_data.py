"""A small labelled dataset zip (real/ and fake/ folders), made reproducibly for privacy tests and benches.

Reals are CelebA photos read from ../shared (never copied into the repository); fakes are sampled from the
in-repo GAN and diffusion generators whose checkpoints ship in detectors/weights/generators. The same
arguments give the same zip members and bytes on every machine.
"""
from __future__ import annotations

import io
import os
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.media import REAL_FACES

GENERATORS_DIR = Path(__file__).resolve().parents[2] / "detectors" / "weights" / "generators"
# The base detectors' weights, read where the service reads them: FORENSICS_MODELS_DIR, else the shipped ones.
MODELS_DIR = Path(os.environ.get("FORENSICS_MODELS_DIR")
                  or Path(__file__).resolve().parents[2] / "detectors" / "weights")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entry timestamps, so the archive bytes are reproducible


def _real_files(n: int, seed: int) -> list[Path]:
    """``n`` CelebA photos; without them (a clone without ../shared) the test that needs them is skipped."""
    files = sorted(REAL_FACES.glob("*.jpg"))
    if len(files) < n:
        import pytest

        pytest.skip(f"real photos not available: {REAL_FACES} holds {len(files)} photos, {n} needed "
                    "(../shared/datasets/celeba-10k is absent)")
    rng = np.random.default_rng(seed)
    return [files[i] for i in sorted(rng.choice(len(files), size=n, replace=False))]


@lru_cache(maxsize=4)
def _fake_pngs(n: int, seed: int) -> tuple[bytes, ...]:
    """``n`` fakes, alternating GAN and diffusion (DDIM, 20 steps: quick on CPU), as PNG bytes."""
    from detectors.generators.common import to_uint8_images
    from detectors.generators.diffusion import generate_diffusion, load_diffusion
    from detectors.generators.gan import generate_gan, load_gan

    n_gan, n_diffusion = (n + 1) // 2, n // 2
    gan, _, _ = load_gan(GENERATORS_DIR / "gan" / "gan.safetensors")
    batches = [to_uint8_images(generate_gan(gan, n_gan, seed))]
    if n_diffusion:
        unet, cfg, _ = load_diffusion(GENERATORS_DIR / "diffusion" / "diffusion.safetensors")
        batches.append(to_uint8_images(generate_diffusion(unet, cfg, n_diffusion, seed, sample_steps=20)))
    images = [img for pair in zip(*batches) for img in pair] + list(batches[0][n_diffusion:])
    out = []
    for arr in images:
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG")
        out.append(buf.getvalue())
    return tuple(out)


def make_labelled_zip(path: Path, n_real: int, n_fake: int, seed: int = 0, prefix: str = "dataset/") -> Path:
    """Write ``path``: ``{prefix}real/*.jpg`` (CelebA, original bytes) and ``{prefix}fake/*.png`` (generators)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in _real_files(n_real, seed):
            zf.writestr(zipfile.ZipInfo(f"{prefix}real/{file.name}", _FIXED_TIME), file.read_bytes())
        for i, data in enumerate(_fake_pngs(n_fake, seed) if n_fake else ()):
            family = "gan" if (i % 2 == 0 or i >= 2 * (n_fake // 2)) else "diffusion"
            zf.writestr(zipfile.ZipInfo(f"{prefix}fake/{family}_{seed}_{i:04d}.png", _FIXED_TIME), data)
    return path


def labelled_splits(folder: Path, n_real: int, n_fake: int, seed: int = 0, fraction: float = 0.25):
    """(train, holdout) as (PIL image, label) lists, going through the same validation and split as an upload."""
    from privacy.datasets import inspect_zip, load_images, split_holdout

    path = make_labelled_zip(Path(folder) / f"data-{n_real}-{n_fake}-{seed}.zip", n_real, n_fake, seed)
    members = inspect_zip(path, max_files=10_000, max_bytes=1 << 30, max_pixels=1 << 24)
    train, holdout = split_holdout(members, fraction, seed)
    return load_images(path, train), load_images(path, holdout)
