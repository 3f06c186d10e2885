"""Listing, splitting and loading real and fake images for detector training and evaluation.

Reals are split by identity (when an identity file is given) so that no person
appears in both training and test data; fakes are split by file, except
aligned fakes (reconstructions of a real photo), which follow their source
photo so that a picture and its reconstruction never sit on both sides of a
split. Splits are deterministic hashes, so every run and every machine agrees
on them.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from detectors.preprocess import TILE, array_to_tensor, pad_to, random_tile
from detectors.training.degradations import match_history, match_sharpness, match_softness, random_degradation
from detectors.training.sbi import self_blend

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
# How often a training view is a small region (SMALL_VIEW_SIDES px, then mirror-padded to a tile like any small
# image), for reals and fakes alike. Our GAN and full diffusion samples are 32 px, so without small real views
# "this tile is mirror-padded" would mean "generated". (32 px crops of real photos were flagged 21% by the 2.0
# model and still 19% by 2.1, trained with this: small images need more than it.)
SMALL_VIEW_P = 0.15
SMALL_VIEW_SIDES = (16, 63)
SPLITS = ("train", "calib", "test")


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int  # 1 = synthetic
    source: str  # "real", or the folder of fakes it came from ("sbi" for self-blended reals made on the fly)
    group: str  # what the split is keyed on (identity for reals)
    family: str = ""  # the real source (celeba, bsds, ...) or the generator family (gan, diffusion, decoder, faceswap)
    domain: str = ""  # whose content it shows: a real source's name (a fake of a CelebA photo is "celeba")


def image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of images")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _identities(identity_file: Path | None) -> dict[str, str]:
    if identity_file is None or not identity_file.exists():
        return {}
    pairs = (line.split() for line in identity_file.read_text().splitlines() if line.strip())
    return {name: ident for name, ident in pairs}


def list_reals(folder: Path, limit: int | None = None, seed: int = 0, identity_file: Path | None = None,
               family: str = "") -> list[Sample]:
    files = image_files(folder)
    if limit is not None and limit < len(files):
        rng = np.random.default_rng(seed)
        files = sorted(files[i] for i in rng.choice(len(files), size=limit, replace=False))
    identities = _identities(identity_file)
    return [Sample(p, 0, "real", f"id:{identities.get(p.name, p.stem)}", family, family) for p in files]


def list_fakes(folder: Path, source: str, limit: int | None = None, family: str = "",
               identity_file: Path | None = None, domain: str = "") -> list[Sample]:
    """Fakes in ``folder``; when the lab wrote a manifest, exactly the files it lists (not its preview grid).

    A manifest that names each file's source photo (aligned fakes) puts the
    fake in its source's split group (by identity, when ``identity_file`` knows it).
    """
    import json

    manifest = folder / "manifest.json"
    sources: dict[str, str] = {}
    if manifest.exists():
        data = json.loads(manifest.read_text())
        names = [entry["file"] if isinstance(entry, dict) else str(entry) for entry in data.get("files", [])]
        files = sorted(folder / Path(name).name for name in names)[:limit]
        listed_sources = data.get("extra", {}).get("sources")
        if isinstance(listed_sources, dict):  # aligned fakes: file -> the real photo it reconstructs
            sources = {Path(k).name: Path(v).name for k, v in listed_sources.items()}
    else:
        files = image_files(folder)[:limit]
    identities = _identities(identity_file)
    samples = []
    for p in files:
        origin = sources.get(p.name)
        group = f"id:{identities.get(origin, Path(origin).stem)}" if origin else f"{source}:{p.stem}"
        samples.append(Sample(p, 1, source, group, family or source, domain))
    return samples


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


def whole_image(sample: Sample) -> Image.Image:
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


def self_blended(real: Sample) -> Sample:
    """A fake made on the fly from ``real`` (a face photo) by blending it with a jittered copy of itself."""
    return Sample(real.path, 1, "sbi", real.group, "faceswap", real.domain)


class ImageDataset(Dataset):
    """Images kept in memory at native resolution; each item is one native tile.

    Training: self-blending for "sbi" samples, the reals' compression history
    for fakes, the shared post-processing chain for everyone, then one random
    tile and a random flip. Evaluation: the centre tile after an optional
    degradation (whole-image scores come from ``detectors.tiles.tiled_scores``, which tiles).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        tile: int = TILE,
        *,
        train: bool = False,
        degradation: Callable[[Image.Image], Image.Image] | None = None,
        seed: int = 0,
        images: Sequence[Image.Image] | None = None,
        soft_reals: float = 0.0,
        sharp_fakes: float = 0.0,
    ) -> None:
        self.samples = list(samples)
        self.soft_reals = soft_reals  # share of real views given the fakes' softness (match_softness)
        self.sharp_fakes = sharp_fakes  # share of fake views sharpened (match_sharpness)
        self.images = list(images) if images is not None else [whole_image(s) for s in self.samples]
        self.tile, self.train, self.degradation, self.seed, self.epoch = tile, train, degradation, seed, 0

    def __len__(self) -> int:
        return len(self.samples)

    def view(self, index: int, rng: np.random.Generator) -> Image.Image:
        """The training view of one image before tiling (also what tests look at)."""
        sample, img = self.samples[index], self.images[index]
        if sample.source == "sbi":
            img = self_blend(img, rng)
        if sample.label == 1:
            img = match_history(img, rng)
        side = 3 * self.tile
        if rng.random() < SMALL_VIEW_P:
            side = int(rng.integers(SMALL_VIEW_SIDES[0], SMALL_VIEW_SIDES[1] + 1))
        img = _random_region(img, rng, side)
        # no draw when an option is 0, so runs without them keep exactly their views
        if sample.label == 0 and self.soft_reals and rng.random() < self.soft_reals:
            img = match_softness(img, rng)
        if sample.label == 1 and self.sharp_fakes and rng.random() < self.sharp_fakes:
            img = match_sharpness(img, rng)
        return random_degradation(img, rng)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        """``key``: an index (one view per image per ``epoch``), or ``(index, draw)`` from :class:`NumberedDraws`
        (a fresh view every time the sampler draws the image again)."""
        index, draw = key if isinstance(key, tuple) else (key, None)
        label = self.samples[index].label
        if self.train:
            rng = np.random.default_rng((self.seed, self.epoch, index) if draw is None
                                        else (self.seed, self.epoch, index, draw))
            tile = random_tile(self.view(index, rng), rng, self.tile)
            return (tile.flip(-1) if rng.random() < 0.5 else tile), label
        img = self.images[index]
        if self.degradation is not None:
            img = self.degradation(img)
        arr = pad_to(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0, self.tile)
        h, w = arr.shape[:2]
        y, x = (h - self.tile) // 2, (w - self.tile) // 2
        return array_to_tensor(arr[y:y + self.tile, x:x + self.tile]), label


class NumberedDraws(Sampler[tuple[int, int]]):
    """Numbers the draws of a with-replacement sampler: ``(index, draw)``.

    A step-based run draws each image many times (a small real source, balanced
    against a large one, is drawn dozens of times). Keyed by index alone, every
    draw got the same crop, degradation and self-blend: the network saw one
    frozen view per image and could memorise it. The draw number keys a fresh,
    still reproducible, view.
    """

    def __init__(self, sampler: Sampler[int]) -> None:
        self.sampler = sampler

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return ((index, draw) for draw, index in enumerate(self.sampler))

    def __len__(self) -> int:
        return len(self.sampler)  # type: ignore[arg-type]


def _random_region(img: Image.Image, rng: np.random.Generator, side: int) -> Image.Image:
    """A random square region (the whole image if smaller): post-processing then costs the same for any photo."""
    w, h = img.size
    cw, ch = min(w, side), min(h, side)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))
