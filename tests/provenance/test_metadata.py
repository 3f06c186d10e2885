from pathlib import Path

from detectors.base import MediaType
from provenance.metadata import extract_metadata
from tests.support.media import XMP_AI, jpeg_bytes, mp4_bytes, png_bytes


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_camera_exif_is_read(tmp_path: Path) -> None:
    exif = {0x010F: "Nikon", 0x0110: "D750", 0x0132: "2024:01:02 10:00:00"}
    meta = extract_metadata(write(tmp_path, "a.jpg", jpeg_bytes(exif=exif)), MediaType.IMAGE)
    assert meta["exif"] == {"Make": "Nikon", "Model": "D750", "DateTime": "2024:01:02 10:00:00"}
    assert meta["gps_present"] is False
    assert not any("No EXIF" in f for f in meta["flags"])


def test_ai_source_type_and_generator_software_are_flagged(tmp_path: Path) -> None:
    meta = extract_metadata(write(tmp_path, "a.jpg", jpeg_bytes(xmp=XMP_AI)), MediaType.IMAGE)
    assert meta["xmp"]["creator_tool"] == "Stable Diffusion XL"
    flags = " ".join(meta["flags"])
    assert "trainedAlgorithmicMedia" in flags and "stable diffusion" in flags


def test_stripped_image_says_so(tmp_path: Path) -> None:
    meta = extract_metadata(write(tmp_path, "a.png", png_bytes()), MediaType.IMAGE)
    assert any("No EXIF or XMP" in f for f in meta["flags"])


def test_editing_software_without_camera(tmp_path: Path) -> None:
    meta = extract_metadata(write(tmp_path, "a.jpg", jpeg_bytes(exif={0x0131: "GIMP 2.10"})), MediaType.IMAGE)
    assert any("editing software but no camera" in f for f in meta["flags"])


def test_video_container_tags(tmp_path: Path) -> None:
    meta = extract_metadata(write(tmp_path, "a.mp4", mp4_bytes()), MediaType.VIDEO)
    assert meta["container_tags"]["encoder"].startswith("Lavf")
    assert any("FFmpeg" in f for f in meta["flags"]) and any("No audio" in f for f in meta["flags"])
