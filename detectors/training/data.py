"""Listing, splitting and loading real and fake images for detector training and evaluation.

Reals are split by identity (when an identity file is given) so that no person
appears in both training and test data; fakes are split by file. Splits are
deterministic hashes, so every run and every machine agrees on them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from detectors.preprocess import fit_square, to_tensor
from detectors.training.degradations import random_degradation

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
SPLITS = ("train", "calib", "test")


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int  # 1 = synthetic
    source: str  # "real" or the generator family
    group: str  # what the split is keyed on (identity for reals)


def image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of images")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _identities(identity_file: Path | None) -> dict[str, str]:
    if identity_file is None or not identity_file.exists():
        return {}
    pairs = (line.split() for line in identity_file.read_text().splitlines() if line.strip())
    return {name: ident for name, ident in pairs}


def list_reals(folder: Path, limit: int | None = None, seed: int = 0, identity_file: Path | None = None) -> list[Sample]:
    files = image_files(folder)
    if limit is not None and limit < len(files):
        rng = np.random.default_rng(seed)
        files = sorted(files[i] for i in rng.choice(len(files), size=limit, replace=False))
    identities = _identities(identity_file)
    return [Sample(p, 0, "real", f"id:{identities.get(p.name, p.stem)}") for p in files]


def list_fakes(folder: Path, source: str, limit: int | None = None) -> list[Sample]:
    """Fakes in ``folder``; when the lab wrote a manifest, exactly the files it lists (not its preview grid)."""
    manifest = folder / "manifest.json"
    if manifest.exists():
        import json

        listed = json.loads(manifest.read_text()).get("files", [])
        names = [entry["file"] if isinstance(entry, dict) else str(entry) for entry in listed]
        files = sorted(folder / Path(name).name for name in names)[:limit]
    else:
        files = image_files(folder)[:limit]
    return [Sample(p, 1, source, f"{source}:{p.stem}") for p in files]


def split_of(sample: Sample, fractions: tuple[float, float] = (0.7, 0.15)) -> str:
    bucket = int(hashlib.sha1(sample.group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if bucket < fractions[0]:
        return "train"
    return "calib" if bucket < fractions[0] + fractions[1] else "test"


def split(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {name: [] for name in SPLITS}
    for sample in samples:
        out[split_of(sample)].append(sample)
    return out


def whole_image(sample: Sample) -> Image.Image | None:
    return Image.open(sample.path).convert("RGB")


def largest_face(sample: Sample) -> Image.Image | None:
    """The MTCNN crop of the largest face, as the face detector sees it in service; None if no face."""
    from detectors.faces import MIN_FACE_PIXELS, shared_face_finder

    faces = [f for f in shared_face_finder().find(Image.open(sample.path)) if f.size >= MIN_FACE_PIXELS]
    return faces[0].crop if faces else None


CROPS: dict[str, Callable[[Sample], Image.Image | None]] = {"none": whole_image, "faces": largest_face}


def load_views(samples: Sequence[Sample], crop: str) -> tuple[list[Sample], list[Image.Image], int]:
    """The images a detector with this ``crop`` sees; samples without a face are dropped and counted."""
    kept, images = [], []
    for sample in samples:
        img = CROPS[crop](sample)
        if img is not None:
            kept.append(sample)
            images.append(img)
    return kept, images, len(samples) - len(kept)


class ImageDataset(Dataset):
    """Images fitted to ``size`` and kept in memory (small crops), degraded on the fly."""

    def __init__(
        self,
        samples: Sequence[Sample],
        size: int,
        *,
        train: bool = False,
        degradation: Callable[[Image.Image], Image.Image] | None = None,
        seed: int = 0,
        images: Sequence[Image.Image] | None = None,
    ) -> None:
        self.samples = list(samples)
        source = images if images is not None else [whole_image(s) for s in self.samples]
        self.images = [fit_square(img, size) for img in source]
        self.train, self.degradation, self.seed, self.epoch = train, degradation, seed, 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        img = self.images[index]
        if self.train:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            img = random_degradation(img, rng)
            if rng.random() < 0.5:
                img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        elif self.degradation is not None:
            img = self.degradation(img)
        return to_tensor(img), self.samples[index].label
