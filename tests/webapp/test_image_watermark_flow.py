"""An image carrying Stable Diffusion's invisible dwtDct mark is flagged by the pipeline, and
its decoded payload appears in the provenance section (API, item page, report row)."""
import io

import pytest

pytest.importorskip("imwatermark")

from detectors.watermark.image_invisible import KNOWN_PAYLOADS, embed_known_mark
from tests.support.media import textured_image


def test_a_dwtdct_marked_image_shows_its_payload_in_provenance(api, moderator_client, eager_celery) -> None:
    buffer = io.BytesIO()
    embed_known_mark(textured_image(5), KNOWN_PAYLOADS[0]).save(buffer, format="PNG")  # lossless: the mark survives
    buffer.seek(0)
    buffer.name = "generated.png"
    location = api.post("/api/v1/analyses", {"file": buffer}, format="multipart")["Location"]
    body = api.get(location).json()

    marks = {m["detector"]: m for m in body["provenance"]["watermarks"]}
    sd = marks["image-invisible-watermark"]
    assert sd["detected"] is True and sd["mark"] == KNOWN_PAYLOADS[0].name
    assert sd["p_value"] < 1e-6 and sd["bit_accuracy"] >= 0.75
    # The decoded bits, as read (a few may be flipped; the text is shown when they spell one exactly).
    assert len(sd["payload_hex"]) == len(KNOWN_PAYLOADS[0].bits) // 8 * 2
    assert "image-tenant-watermark" not in marks  # no tenant key: not applicable, so not listed
    assert body["verdict"] == "likely_synthetic"

    page = moderator_client.get(f"/items/{body['id']}/").content.decode()
    assert "Invisible watermarks" in page and KNOWN_PAYLOADS[0].name in page and sd["payload_hex"] in page

    from forensics.models import Analysis
    from webapp.reporting.reports import _mark_found

    assert _mark_found(Analysis.objects.get(pk=body["id"])) == "image-invisible-watermark"
