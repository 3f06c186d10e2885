"""PDQ on real photos: robust to resize + JPEG, far from an unrelated photo; video frames sampled and hashed."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pdqhash", reason="pdqhash is not installed")
import itertools

from provenance.perceptual import (
    MATCH_THRESHOLD,
    MIN_QUALITY,
    PdqHash,
    hamming,
    is_match,
    pdq_image,
    pdq_video,
)

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
CELEBA = DATASETS / "celeba-10k" / "images"
UTK = DATASETS / "utkface-aligned" / "images"


def _photos(folder: Path, count: int) -> list[Path]:
    if not folder.is_dir():
        pytest.skip(f"real photos not available: {folder} missing")
    files = sorted(folder.glob("*.jpg"))[:count]
    if len(files) < count:
        pytest.skip(f"need {count} photos in {folder}, found {len(files)}")
    return files


def _resize_jpeg(path: Path, size: tuple[int, int], quality: int) -> Image.Image:
    buf = io.BytesIO()
    with Image.open(path) as im:
        im.convert("RGB").resize(size, Image.Resampling.BILINEAR).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf)


def test_thresholds_are_the_documented_values() -> None:
    assert MATCH_THRESHOLD == 31 and MIN_QUALITY == 49


def test_hash_format_and_quality() -> None:
    photo = _photos(UTK, 1)[0]
    digest = pdq_image(photo)
    assert isinstance(digest, PdqHash)
    assert len(digest.hex) == 64 and int(digest.hex, 16) >= 0
    assert digest.quality > MIN_QUALITY and digest.usable
    assert pdq_image(photo) == digest  # deterministic
    with Image.open(photo) as im:
        assert pdq_image(im) == digest  # path and PIL image agree


def test_resize_and_jpeg60_stay_within_threshold_unrelated_photos_do_not() -> None:
    photos = _photos(UTK, 6)
    for path in photos[:3]:
        original = pdq_image(path)
        degraded = pdq_image(_resize_jpeg(path, (120, 120), quality=60))
        assert hamming(original, degraded) <= MATCH_THRESHOLD, path.name
        assert is_match(original.hex, degraded.hex)
    unrelated = [hamming(pdq_image(a), pdq_image(b)) for a, b in zip(photos[:3], photos[3:])]
    assert min(unrelated) > 2 * MATCH_THRESHOLD, unrelated


def test_small_celeba_photo_upscaled_still_matches() -> None:
    path = _photos(CELEBA, 1)[0]  # 89x109
    assert hamming(pdq_image(path), pdq_image(_resize_jpeg(path, (178, 218), quality=60))) <= MATCH_THRESHOLD


def test_flat_image_has_low_quality() -> None:
    assert not pdq_image(Image.new("RGB", (64, 64), (128, 128, 128))).usable


def test_hamming_inputs() -> None:
    a = "0" * 64
    b = "f" + "0" * 63
    assert hamming(a, b) == 4
    assert hamming(bytes(32), bytes.fromhex(b)) == 4
    with pytest.raises(ValueError):
        hamming("abc", a)


def _write_video(path: Path, frames: list[np.ndarray], fps: int) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_video_frames_sampled_evenly_and_match_their_source_photos(tmp_path: Path) -> None:
    pytest.importorskip("av")
    photos = _photos(UTK, 4)
    # 4 seconds at 10 fps: second k shows photo k.
    images = [np.asarray(Image.open(p).convert("RGB").resize((200, 200))) for p in photos]
    frames = [images[i // 10] for i in range(40)]
    video = tmp_path / "clip.mp4"
    _write_video(video, frames, fps=10)

    sampled = pdq_video(video, num_frames=4)
    assert len(sampled) == 4
    assert [f.frame_index // 10 for f in sampled] == [0, 1, 2, 3]
    assert all(0 <= a.timestamp < b.timestamp for a, b in itertools.pairwise(sampled))
    for frame, photo in zip(sampled, photos):
        assert hamming(frame.hash, pdq_image(photo)) <= MATCH_THRESHOLD

    per_second = pdq_video(video, fps=1)
    assert [f.frame_index for f in per_second] == [0, 10, 20, 30]
    assert [round(f.timestamp, 2) for f in per_second] == [0.0, 1.0, 2.0, 3.0]


def test_a_video_without_a_stated_duration_is_hashed_within_the_frame_bound(tmp_path: Path) -> None:
    """Matroska may omit its duration: the frames are then counted (packets, no decoding) up to ``max_frames``
    and sampled among those, so a long stream costs no more than the bound (it used to decode every frame twice
    and sample across all of them)."""
    pytest.importorskip("av")
    from tests.support.media import mkv_without_duration

    video = tmp_path / "stream.mkv"
    video.write_bytes(mkv_without_duration(seconds=10, fps=12))  # 120 frames
    bounded = pdq_video(video, num_frames=4, max_frames=24)
    assert len(bounded) == 4
    assert all(f.frame_index < 24 for f in bounded)
    whole = pdq_video(video, num_frames=4)  # the default bound (600) covers the whole stream
    assert [f.frame_index // 30 for f in whole] == [0, 1, 2, 3]
