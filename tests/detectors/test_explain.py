"""The tile map: each scored tile tinted where it sits, over a picture with the image's aspect ratio."""
import io

import numpy as np
from PIL import Image

from detectors.explain import tile_map_png


def test_tile_map_keeps_the_aspect_ratio_and_marks_tiles_over_the_threshold() -> None:
    image = Image.new("RGB", (400, 200), (128, 128, 128))
    boxes = [(0, 0, 100), (300, 100, 100)]
    png = tile_map_png(image, boxes, [0.1, 0.9], threshold=0.5, longest_side=200)
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int64)
    assert picture.shape == (100, 200, 3)
    low, high, untouched = picture[25, 25], picture[75, 175], picture[25, 175]
    assert low[2] > low[0] and high[0] > high[2]  # blue for a low tile, red for a high one
    assert np.abs(untouched - 128).max() <= 2  # no tile there: the image as it is
    edge = picture[50, 150]  # the left edge of the high tile: outlined red
    assert edge[0] > 200 and edge[1] < 80
