"""Native-resolution tiling: never resized, capped, small images mirror-padded, the whole picture covered."""
import numpy as np
import pytest
from PIL import Image

from detectors.preprocess import MAX_TILES, MEAN, STD, TILE, pad_to, random_tile, tile_image


def _image(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def _pixels(tensor) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A normalised (3, H, W) tile back to uint8 (H, W, 3)."""
    arr = tensor.permute(1, 2, 0).numpy() * np.array(STD) + np.array(MEAN)
    return np.rint(arr * 255).astype(np.int64)


@pytest.mark.parametrize("size", [(200, 150), (64, 64), (130, 65)])
def test_tiles_are_exact_pixel_copies_of_the_image(size: tuple[int, int]) -> None:
    img = _image(*size)
    source = np.asarray(img, dtype=np.int64)
    tiling = tile_image(img)
    assert tiling.tensors.shape[1:] == (3, TILE, TILE) and len(tiling.boxes) == len(tiling.tensors)
    for tensor, (x, y, side) in zip(tiling.tensors, tiling.boxes):
        assert side == TILE
        np.testing.assert_array_equal(_pixels(tensor), source[y:y + side, x:x + side])


def test_a_large_photo_costs_at_most_the_cap_and_tiles_still_span_it() -> None:
    img = Image.new("RGB", (4000, 3000), (120, 80, 40))
    tiling = tile_image(img)
    assert 1 < len(tiling.boxes) <= MAX_TILES and tiling.size == (4000, 3000)
    xs, ys = {b[0] for b in tiling.boxes}, {b[1] for b in tiling.boxes}
    assert min(xs) == 0 and max(xs) == 4000 - TILE and min(ys) == 0 and max(ys) == 3000 - TILE
    cols, rows = tiling.grid
    assert cols * rows == len(tiling.boxes) and cols >= rows  # the grid follows the picture's aspect


def test_a_small_image_is_mirror_padded_to_one_tile_never_upscaled() -> None:
    img = _image(30, 20, seed=3)  # 30 wide, 20 high
    tiling = tile_image(img)
    assert len(tiling.boxes) == 1 and tiling.size == (30, 20)
    pixels = _pixels(tiling.tensors[0])
    source = np.asarray(img, dtype=np.int64)
    # every original pixel is there once, unscaled, surrounded by its mirror images
    found = [(y, x) for y in range(TILE - 20 + 1) for x in range(TILE - 30 + 1)
             if np.array_equal(pixels[y:y + 20, x:x + 30], source)]
    assert found
    y, x = found[0]
    np.testing.assert_array_equal(pixels[y - 1, x:x + 30], source[0])  # symmetric padding repeats the edge row
    np.testing.assert_array_equal(pixels[y:y + 20, x - 1], source[:, 0])
    padded = pad_to(np.asarray(img), TILE)
    assert padded.shape == (TILE, TILE, 3)


def test_padding_leaves_large_enough_images_alone() -> None:
    arr = np.asarray(_image(70, 64))
    assert pad_to(arr, TILE) is arr


@pytest.mark.parametrize("size", [(64, 64), (200, 150), (65, 300), (30, 20)])
def test_tile_boxes_cover_the_image_corners(size: tuple[int, int]) -> None:
    width, height = size
    boxes = tile_image(_image(width, height)).boxes
    padded_w, padded_h = max(width, TILE), max(height, TILE)

    def covered(px: int, py: int) -> bool:
        return any(x <= px < x + s and y <= py < y + s for x, y, s in boxes)

    for corner in [(0, 0), (padded_w - 1, 0), (0, padded_h - 1), (padded_w - 1, padded_h - 1)]:
        assert covered(*corner), (size, corner, boxes)


def test_a_random_tile_is_a_native_crop() -> None:
    img = _image(150, 90, seed=7)
    source = np.asarray(img, dtype=np.int64)
    pixels = _pixels(random_tile(img, np.random.default_rng(0)))
    matches = [(y, x) for y in range(90 - TILE + 1) for x in range(150 - TILE + 1)
               if np.array_equal(pixels[:4, :4], source[y:y + 4, x:x + 4])
               and np.array_equal(pixels, source[y:y + TILE, x:x + TILE])]
    assert len(matches) == 1
