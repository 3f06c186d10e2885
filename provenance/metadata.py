"""Forensically relevant metadata: EXIF, XMP (IPTC digital source type), PNG
text chunks written by generators, and container tags for video.

Metadata is a weak signal — it can be stripped or forged — so this module
reports what it found and flags inconsistencies; it never decides a verdict.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image

from detectors.base import MediaType

log = logging.getLogger(__name__)

# EXIF tags that matter for forensics (camera, software, dates).
EXIF_FIELDS = (
    "Make", "Model", "Software", "DateTime", "DateTimeOriginal", "DateTimeDigitized",
    "LensModel", "Artist", "Copyright", "ImageDescription", "HostComputer",
)
# IPTC digital source types that declare AI generation
# (https://cv.iptc.org/newscodes/digitalsourcetype/).
AI_SOURCE_TYPES = (
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
)
# Text chunks that image generators write into PNGs.
GENERATOR_PNG_KEYS = ("parameters", "prompt", "workflow", "Dream", "sd-metadata", "invokeai_metadata")
GENERATOR_SOFTWARE_HINTS = (
    "stable diffusion", "midjourney", "dall-e", "dall·e", "firefly", "comfyui", "automatic1111",
    "novelai", "imagen", "flux",
)
_MAX_VALUE_CHARS = 2000


def extract_metadata(path: Path, media_type: MediaType) -> dict[str, Any]:
    if media_type is MediaType.IMAGE:
        return image_metadata(path)
    if media_type is MediaType.VIDEO:
        return video_metadata(path)
    return {"flags": []}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    try:
        return float(value)  # IFDRational and friends
    except (TypeError, ValueError):
        text = str(value).replace("\x00", "").strip()
        return text[:_MAX_VALUE_CHARS]


def _exif(img: Image.Image) -> tuple[dict[str, Any], bool]:
    exif = img.getexif()
    merged: dict[int, Any] = dict(exif)
    try:
        merged.update(exif.get_ifd(ExifTags.IFD.Exif))
    except (KeyError, ValueError, OSError):
        pass
    named = {ExifTags.TAGS.get(tag, str(tag)): value for tag, value in merged.items()}
    fields = {name: _jsonable(named[name]) for name in EXIF_FIELDS if name in named}
    has_gps = bool(exif.get_ifd(ExifTags.IFD.GPSInfo)) if ExifTags.IFD.GPSInfo in exif else False
    return fields, has_gps


def _find_key(tree: Any, suffix: str) -> Any:
    """First value whose key ends with ``suffix`` anywhere in a nested XMP dict."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if str(key).endswith(suffix):
                return value
            found = _find_key(value, suffix)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for value in tree:
            found = _find_key(value, suffix)
            if found is not None:
                return found
    return None


def _xmp(img: Image.Image) -> dict[str, Any]:
    try:
        tree = img.getxmp()
    except Exception as exc:  # noqa: BLE001 - malformed XMP is common; report, don't fail
        log.warning("unreadable XMP", extra={"error": str(exc)})
        return {"error": "unreadable XMP packet"}
    if not tree:
        return {}
    out: dict[str, Any] = {}
    for label, suffix in (
        ("digital_source_type", "DigitalSourceType"),
        ("creator_tool", "CreatorTool"),
        ("create_date", "CreateDate"),
        ("modify_date", "ModifyDate"),
        ("credit", "Credit"),
    ):
        value = _find_key(tree, suffix)
        if value is not None:
            out[label] = _jsonable(value)
    return out


def image_metadata(path: Path) -> dict[str, Any]:
    with Image.open(path) as img:
        exif, has_gps = _exif(img)
        xmp = _xmp(img)
        png_text = {
            key: _jsonable(value)
            for key, value in (getattr(img, "text", None) or {}).items()
            if isinstance(value, (str, bytes))
        }
        icc = "icc_profile" in img.info
    result: dict[str, Any] = {
        "exif": exif,
        "gps_present": has_gps,
        "xmp": xmp,
        "png_text": png_text,
        "icc_profile": icc,
    }
    result["flags"] = image_flags(result)
    return result


def image_flags(meta: dict[str, Any]) -> list[str]:
    """Human-readable observations a reviewer should see; none is proof on its own."""
    flags: list[str] = []
    source = str(meta.get("xmp", {}).get("digital_source_type", ""))
    if any(source.endswith(kind) for kind in AI_SOURCE_TYPES):
        flags.append(f"XMP declares an AI digital source type ({source.rsplit('/', 1)[-1]}).")
    generator_keys = [k for k in meta.get("png_text", {}) if k in GENERATOR_PNG_KEYS]
    if generator_keys:
        flags.append(f"PNG text chunks typical of image generators: {', '.join(sorted(generator_keys))}.")
    software = " ".join(
        str(v) for v in (meta.get("exif", {}).get("Software"), meta.get("xmp", {}).get("creator_tool")) if v
    ).lower()
    hints = [hint for hint in GENERATOR_SOFTWARE_HINTS if hint in software]
    if hints:
        flags.append(f"Software field names a generator ({', '.join(hints)}).")
    exif = meta.get("exif", {})
    original, modified = exif.get("DateTimeOriginal"), exif.get("DateTime")
    if original and modified and str(modified) < str(original):
        flags.append("EXIF modification date is earlier than the capture date.")
    if exif.get("Software") and not (exif.get("Make") or exif.get("Model")):
        flags.append("EXIF names editing software but no camera.")
    if not exif and not meta.get("xmp"):
        flags.append("No EXIF or XMP metadata (stripped, screenshotted or generated).")
    return flags


def video_metadata(path: Path) -> dict[str, Any]:
    import av

    with av.open(str(path)) as container:
        tags = {str(k): _jsonable(v) for k, v in (container.metadata or {}).items()}
        streams = [
            {"type": s.type, "codec": s.codec_context.name if s.codec_context else None,
             "tags": {str(k): _jsonable(v) for k, v in (s.metadata or {}).items()}}
            for s in container.streams
        ]
    flags: list[str] = []
    encoder = str(tags.get("encoder", "")).lower()
    if encoder.startswith("lavf"):
        flags.append(f"Muxed by FFmpeg ({tags['encoder']}): re-encoded or produced by a tool, not straight from a camera.")
    if not any(s["type"] == "audio" for s in streams):
        flags.append("No audio track.")
    return {"container_tags": tags, "streams": streams, "flags": flags}
