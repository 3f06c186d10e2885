"""From pictures to logits through native-resolution tiles: the one scoring path.

Serving, evaluation, calibration and training's held-out metrics all call
``tiled_logits``, so a number in a model card is a number the service would
produce. An image's logit is the mean of its tiles' logits (each tile is an
independent look at the same traces; the mean is steadier than the maximum,
which would rise with the number of tiles and with it the false positives on
large photos).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from detectors.preprocess import MAX_TILES, TILE, Tiling, tile_image


@dataclass(frozen=True)
class TiledScore:
    logit: float
    tiling: Tiling
    tile_logits: np.ndarray  # one per tile, in tiling.boxes order


@torch.no_grad()
def tiled_scores(model: torch.nn.Module, images: Sequence[Image.Image], device: str = "cpu", tile: int = TILE,
                 max_tiles: int = MAX_TILES, batch_tiles: int = 256) -> list[TiledScore]:
    """Every image's tiles through ``model`` in shared batches; per-image mean logit and per-tile logits."""
    model.eval()
    tilings = [tile_image(img, tile, max_tiles) for img in images]
    if not tilings:
        return []
    stacked = torch.cat([t.tensors for t in tilings])
    logits = torch.cat([model(stacked[i:i + batch_tiles].to(device)).float().cpu()
                        for i in range(0, len(stacked), batch_tiles)]).numpy()
    out, start = [], 0
    for tiling in tilings:
        part = logits[start:start + len(tiling.boxes)]
        start += len(tiling.boxes)
        out.append(TiledScore(float(part.mean()), tiling, part))
    return out


def tiled_logits(model: torch.nn.Module, images: Sequence[Image.Image], device: str = "cpu", tile: int = TILE,
                 max_tiles: int = MAX_TILES) -> np.ndarray:
    """One logit per image (the mean over its tiles), 64 images at a time to bound memory."""
    logits = [s.logit for start in range(0, len(images), 64)
              for s in tiled_scores(model, images[start:start + 64], device, tile, max_tiles)]
    return np.array(logits, dtype=np.float64)
