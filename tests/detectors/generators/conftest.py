"""Fixtures for the generator tests: a tiny synthetic image folder (always there)
and the shared CelebA folder (tests that need it skip when it is absent)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

CELEBA_DIR = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "celeba-10k" / "images"


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    # The suite runs on small shared CPUs next to other work (oversubscribed
    # OpenMP threads spin and slow everyone down); fixed threads also keep
    # CPU results bit-reproducible within one run.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_real_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 small 'face-like' images (smooth blobs) in CelebA's 89x109 shape."""
    root = tmp_path_factory.mktemp("reals")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:109, 0:89]
    for i in range(20):
        cx, cy = 44 + rng.integers(-5, 6), 54 + rng.integers(-5, 6)
        blob = np.exp(-(((xx - cx) / 22.0) ** 2 + ((yy - cy) / 28.0) ** 2))
        colour = rng.uniform(0.2, 0.9, 3)
        img = (blob[..., None] * colour + (1 - blob[..., None]) * 0.1) * 255
        Image.fromarray(img.astype(np.uint8)).save(root / f"{i:06d}.jpg", quality=95)
    return root


@pytest.fixture(scope="session")
def celeba_dir() -> Path:
    if not CELEBA_DIR.is_dir() or not any(CELEBA_DIR.iterdir()):
        pytest.skip(f"shared CelebA folder {CELEBA_DIR} is absent; face-swap tests on real faces need it")
    return CELEBA_DIR
