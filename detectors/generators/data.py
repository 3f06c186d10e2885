"""Real face images for training the generators.

Reads any folder of face images (default: the aligned CelebA subset under
``../shared/datasets/celeba-10k/images`` beside the checkout, 89x109 JPEGs). Images are read
from where they are and never copied into the repository (CelebA's licence
forbids redistribution). Subset selection is a pure function of the sorted
file list, ``count`` and ``seed``, so a manifest that records those three
reproduces the exact training set.
"""
from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# ../shared beside the repository checkout, wherever that is.
DEFAULT_REAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "celeba-10k" / "images"


def list_images(real_dir: str | os.PathLike[str]) -> list[Path]:
    """All image files directly inside ``real_dir``, sorted by name for stable order."""
    root = Path(real_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"real image folder not found: {root}")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {root}")
    return files


def select_subset(paths: Sequence[Path], count: int | None, seed: int) -> list[Path]:
    """Deterministic subset: ``count`` paths drawn with ``seed``, returned in name order.

    ``count`` None or >= len(paths) keeps everything. Name order (not draw order)
    keeps the list easy to diff between runs.
    """
    ordered = sorted(paths)
    if count is None or count >= len(ordered):
        return list(ordered)
    if count <= 0:
        raise ValueError("count must be positive")
    chosen = random.Random(seed).sample(range(len(ordered)), count)
    return [ordered[i] for i in sorted(chosen)]


def center_crop_resize(image: Image.Image, size: int, crop_fraction: float = 0.8) -> Image.Image:
    """Square centre crop of side ``crop_fraction * min(w, h)``, resized to ``size``.

    For aligned CelebA (89x109) 0.8 keeps the face from forehead to chin with a
    little background, which is what DCGAN-style face models learn best.
    """
    image = image.convert("RGB")
    w, h = image.size
    side = max(1, round(min(w, h) * crop_fraction))
    left = (w - side) // 2
    top = (h - side) // 2
    crop = image.crop((left, top, left + side, top + side))
    return crop.resize((size, size), Image.Resampling.BICUBIC)


@dataclass
class FaceSet:
    """Faces held in memory as uint8 (N,3,H,W) to keep 10k 64x64 crops small."""

    images: torch.Tensor
    paths: list[Path]
    source_dir: Path

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def batch(self, index: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        """Float batch in [-1, 1] on ``device``."""
        x = self.images[index].to(device, non_blocking=True).float()
        return x / 127.5 - 1.0


def load_faces(
    real_dir: str | os.PathLike[str],
    size: int,
    count: int | None = None,
    seed: int = 0,
    crop_fraction: float = 0.8,
) -> FaceSet:
    """Load a deterministic subset of real faces, centre-cropped and resized to ``size``."""
    paths = select_subset(list_images(real_dir), count, seed)
    arrays = []
    kept = []
    for path in paths:
        try:
            with Image.open(path) as im:
                arr = np.asarray(center_crop_resize(im, size, crop_fraction), dtype=np.uint8)
        except OSError:
            continue  # a corrupt file should not abort a long training run
        arrays.append(arr)
        kept.append(path)
    if not arrays:
        raise FileNotFoundError(f"no readable images in {real_dir}")
    stacked = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return FaceSet(images=stacked, paths=kept, source_dir=Path(real_dir))


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Horizontal flip of a random half of the batch (faces are roughly symmetric)."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    if flip.any():
        x = x.clone()
        idx = flip.nonzero().flatten().to(x.device)
        x[idx] = x[idx].flip(-1)
    return x


def find_identity_file(real_dir: str | os.PathLike[str]) -> Path | None:
    """``identity.txt`` in the folder or its parent (the celeba-10k layout), if any."""
    root = Path(real_dir)
    for candidate in (root / "identity.txt", root.parent / "identity.txt"):
        if candidate.is_file():
            return candidate
    return None


def read_identities(real_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Map identity label -> sorted file names, from CelebA's ``image identity`` lines.

    Only files that exist in ``real_dir`` are kept. Empty dict when there is no
    identity file, so callers can fall back to explicit per-identity folders.
    """
    ident_file = find_identity_file(real_dir)
    if ident_file is None:
        return {}
    present = {p.name for p in list_images(real_dir)}
    groups: dict[str, list[str]] = {}
    for line in ident_file.read_text().splitlines():
        parts = line.split()
        if len(parts) != 2 or parts[0] == "image":
            continue
        name, ident = parts
        if name in present:
            groups.setdefault(ident, []).append(name)
    return {k: sorted(v) for k, v in groups.items()}
