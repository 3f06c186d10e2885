"""Invisible image watermarks: SD-style dwtDct marks and the keyed tenant mark."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("imwatermark")

from detectors.base import FindingLabel, MediaInput, MediaType
from detectors.registry import create_detector
from detectors.watermark.image_invisible import (
    KNOWN_PAYLOADS,
    TenantMark,
    binomial_sf,
    detect_known_marks,
    detect_tenant_watermark,
    embed_known_mark,
    embed_tenant_watermark,
)
from tests.support.media import textured_image

MARK = TenantMark(key=b"tenant-a")


@pytest.fixture(scope="module")
def clean() -> Image.Image:
    return textured_image(0)


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def half(img: Image.Image) -> Image.Image:
    return img.resize((img.width // 2, img.height // 2), Image.BICUBIC)


def test_binomial_tail() -> None:
    assert binomial_sf(0, 10) == 1.0
    assert binomial_sf(10, 10) == pytest.approx(2**-10)
    assert binomial_sf(64, 64) == pytest.approx(2**-64)


def test_sd_style_mark_detected_with_payload(clean: Image.Image) -> None:
    marked = embed_known_mark(clean, KNOWN_PAYLOADS[0])
    result = detect_known_marks(marked)
    assert result.detected
    assert result.best.name == "StableDiffusionV1" and result.best.channel_order == "bgr"
    # imwatermark's dwtDct loses a few bits even losslessly (it truncates to uint8).
    assert result.best.bit_accuracy >= 0.8
    assert result.p_value < 1e-10
    assert result.best.bits == 136


def test_sdxl_bits_detected_in_rgb_order(clean: Image.Image) -> None:
    # diffusers' SDXL watermarker hands RGB arrays to the BGR encoder.
    from imwatermark import WatermarkEncoder

    sdxl = next(p for p in KNOWN_PAYLOADS if p.name == "SDXL")
    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", list(sdxl.bits))
    marked = Image.fromarray(encoder.encode(np.asarray(clean).copy(), "dwtDct"))
    result = detect_known_marks(marked)
    assert result.detected and result.best.name == "SDXL" and result.best.channel_order == "rgb"


def test_clean_image_has_no_known_mark(clean: Image.Image) -> None:
    result = detect_known_marks(clean)
    assert not result.detected and result.p_value > 1e-3


def test_tenant_mark_survives_jpeg75_and_half_resize(clean: Image.Image) -> None:
    marked = embed_tenant_watermark(clean, MARK)
    psnr = 10 * np.log10(255**2 / np.mean((np.asarray(marked, float) - np.asarray(clean, float)) ** 2))
    assert psnr > 38
    for attacked in (marked, jpeg(marked, 75), half(marked)):
        result = detect_tenant_watermark(attacked, MARK)
        assert result.detected, result.per_scale
        assert result.bit_accuracy >= 0.95
        assert result.p_value < 1e-12
    assert detect_tenant_watermark(half(marked), MARK).best_scale == 2.0


def test_tenant_mark_not_found_on_clean_or_with_wrong_key(clean: Image.Image) -> None:
    marked = embed_tenant_watermark(clean, MARK)
    for result in (detect_tenant_watermark(clean, MARK), detect_tenant_watermark(marked, TenantMark(key=b"tenant-b"))):
        assert not result.detected
        assert 0.25 < result.bit_accuracy < 0.75
        assert result.p_value > 1e-4


def test_tenant_payload_is_keyed() -> None:
    assert len(MARK.payload) == 64
    assert not np.array_equal(MARK.payload, TenantMark(key=b"tenant-b").payload)
    assert np.array_equal(MARK.payload, TenantMark(key="tenant-a").payload)


def test_detectors_findings(tmp_path: Path, clean: Image.Image) -> None:
    paths = {}
    for name, img in (("clean", clean), ("sd", embed_known_mark(clean)),
                      ("tenant", jpeg(embed_tenant_watermark(clean, MARK), 75))):
        paths[name] = tmp_path / f"{name}.png"
        img.save(paths[name])
    items = [MediaInput(MediaType.IMAGE, path=paths[n]) for n in ("clean", "sd", "tenant")]

    sd_clean, sd_hit, _ = create_detector("image-invisible-watermark").predict(items)
    assert sd_hit.label is FindingLabel.SYNTHETIC and sd_hit.score > 0.5
    assert sd_hit.evidence["best"]["name"] == "StableDiffusionV1"
    assert sd_hit.evidence["best"]["channel_order"] == "bgr"
    assert sd_clean.label is FindingLabel.AUTHENTIC and sd_clean.score < 0.5

    tenant = create_detector("image-tenant-watermark", key=b"tenant-a")
    t_clean, _, t_hit = tenant.predict(items)
    assert t_hit.label is FindingLabel.SYNTHETIC and t_hit.score == 1.0
    assert t_hit.evidence["bit_accuracy"] >= 0.95 and t_hit.evidence["p_value"] < 1e-12
    assert t_clean.label is FindingLabel.AUTHENTIC and t_clean.score < 0.5

    (no_key,) = create_detector("image-tenant-watermark").predict(items[:1])
    assert no_key.label is FindingLabel.NOT_APPLICABLE and "no image watermark key" in no_key.reason


def test_small_image_not_applicable(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    textured_image(1, size=128).save(path)
    (finding,) = create_detector("image-invisible-watermark").predict([MediaInput(MediaType.IMAGE, path=path)])
    assert finding.label is FindingLabel.NOT_APPLICABLE and "256x256" in finding.reason
