"""Turning an image into the tensors a detector sees: one module, used by
training, evaluation and serving alike, so they can never drift apart.

The artifact detectors never resize. Generation traces (upsampling, decoder
and blending artefacts) live in single-pixel relationships at the file's
native resolution, and any resampling rewrites exactly those. An image is
scored as a set of native-resolution tiles; the number of tiles is capped
(so a 4000x3000 photo costs what a 1024x1024 one does), and an image smaller
than a tile is padded by mirroring, never upscaled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
TILE = 64  # side of one native-resolution tile, in pixels
MAX_TILES = 24  # tiles scored per image (or per face); the cost cap


def fit_square(img: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize to ``size`` (antialiased): for pictures shown to people, not for models."""
    img = img.convert("RGB")
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    if side != size:
        img = img.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=None)
    return img


def to_tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return array_to_tensor(arr)


def array_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """(H, W, 3) floats in [0, 1] -> normalised (3, H, W)."""
    tensor = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).permute(2, 0, 1)
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    return (tensor - mean) / std


def pad_to(arr: np.ndarray, tile: int) -> np.ndarray:
    """Mirror-pad an (H, W, C) array so both sides are at least ``tile`` (local pixel statistics survive mirroring)."""
    h, w = arr.shape[:2]
    if h >= tile and w >= tile:
        return arr
    pad_h, pad_w = max(0, tile - h), max(0, tile - w)
    while pad_h > 0 or pad_w > 0:  # "symmetric" mode pads at most the array's own size per call
        step_h, step_w = min(pad_h, arr.shape[0]), min(pad_w, arr.shape[1])
        arr = np.pad(arr, ((step_h // 2, step_h - step_h // 2), (step_w // 2, step_w - step_w // 2), (0, 0)),
                     mode="symmetric")
        pad_h, pad_w = pad_h - step_h, pad_w - step_w
    return arr


def _positions(length: int, tile: int, count: int) -> list[int]:
    if count <= 1:
        return [(length - tile) // 2]
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


@dataclass(frozen=True)
class Tiling:
    """The tiles of one image: a normalised batch (N, 3, tile, tile) and where each came from (x, y, side)."""

    tensors: torch.Tensor
    boxes: list[tuple[int, int, int]]
    size: tuple[int, int]  # the image's (width, height) before padding

    @property
    def grid(self) -> tuple[int, int]:
        """(columns, rows) of the tile grid."""
        xs = sorted({b[0] for b in self.boxes})
        ys = sorted({b[1] for b in self.boxes})
        return len(xs), len(ys)


def tile_image(img: Image.Image, tile: int = TILE, max_tiles: int = MAX_TILES) -> Tiling:
    """Native-resolution tiles spread evenly over the whole image, at most ``max_tiles`` of them.

    The grid covers the image (tiles may overlap); when the full grid would
    exceed the cap, it is thinned evenly in both directions so the tiles
    still span the picture.
    """
    arr = pad_to(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0, tile)
    h, w = arr.shape[:2]
    cols, rows = math.ceil(w / tile), math.ceil(h / tile)
    if cols * rows > max_tiles:
        shrink = math.sqrt(max_tiles / (cols * rows))
        cols, rows = max(1, round(cols * shrink)), max(1, round(rows * shrink))
        while cols * rows > max_tiles:
            if cols >= rows:
                cols -= 1
            else:
                rows -= 1
    boxes = [(x, y, tile) for y in _positions(h, tile, rows) for x in _positions(w, tile, cols)]
    tensors = torch.stack([array_to_tensor(arr[y:y + tile, x:x + tile]) for x, y, _ in boxes])
    return Tiling(tensors, boxes, img.size)


def random_tile(img: Image.Image, rng: np.random.Generator, tile: int = TILE) -> torch.Tensor:
    """One tile at a random position (training's view of an image: the same tiles serving scores)."""
    arr = pad_to(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0, tile)
    h, w = arr.shape[:2]
    y, x = int(rng.integers(0, h - tile + 1)), int(rng.integers(0, w - tile + 1))
    return array_to_tensor(arr[y:y + tile, x:x + tile])
