"""The README's table of refused inputs, row by row: each row has requests that must get its status, as a
problem+json that leaves nothing behind. A row added to the table without examples here fails the suite."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from forensics.models import Analysis, MediaItem
from tests.support.media import jpeg_bytes, mkv_without_duration, mp4_bytes, png_header_only

README = Path(__file__).resolve().parents[2] / "README.md"


def _table() -> dict[str, int]:
    text = README.read_text(encoding="utf-8")
    block = text[text.index("| refused input | status |"):].split("\n\n", 1)[0]
    return {m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"^\| (.+?) \| (\d{3}) \|$", block, re.MULTILINE)}


def _file(name: str, data: bytes) -> dict[str, Any]:
    return {"data": {"file": SimpleUploadedFile(name, data)}, "format": "multipart"}


def _json(body: str) -> dict[str, Any]:
    return {"data": body, "content_type": "application/json"}


Request = Callable[[Any], Any]


def post(**kwargs: Any) -> Request:
    return lambda api: api.post("/api/v1/analyses", **kwargs)


def get(url: str) -> Request:
    return lambda api: api.get(url)


EXAMPLES: dict[str, list[tuple[str, Request]]] = {
    "empty file or empty text": [
        ("empty file", post(**_file("e.jpg", b""))),
        ("empty text", post(data={"text": "  \n"}, format="json")),
    ],
    "unknown request field, neither or both of `file`/`text`": [
        ("unknown field", post(data={"text": "hello", "colour": "red"}, format="json")),
        ("neither", post(data={}, format="json")),
        ("both", post(data={"file": SimpleUploadedFile("a.txt", b"hi there"), "text": "hi"}, format="multipart")),
    ],
    "malformed JSON (also nested too deeply), a NUL byte (`%00`) in any query parameter": [
        ("malformed JSON", post(**_json('{"text": '))),
        ("nested too deeply", post(**_json('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"))),
        ("NUL in a filter", get("/api/v1/analyses?state=a%00b")),
    ],
    "not an image, video or UTF-8 text (decided from the bytes, never the name)": [
        ("executable named .jpg", post(**_file("photo.jpg", b"MZ\x90\x00" + bytes(300)))),
        ("Latin-1 text", post(**_file("notes.txt", "café crème".encode("latin-1") * 4))),
    ],
    "over `FORENSICS_MAX_UPLOAD_BYTES`, over the pixel limit (decompression bombs), video over the duration limit, "
    "text (typed or a file) over the character limit": [
        ("FORENSICS_MAX_UPLOAD_BYTES", post(**_file("big.jpg", jpeg_bytes(seed=1, size=(300, 300))))),
        ("FORENSICS_MAX_IMAGE_PIXELS", post(**_file("bomb.png", png_header_only(12000, 12000)))),
        ("FORENSICS_MAX_VIDEO_SECONDS", post(**_file("long.mkv", mkv_without_duration(4)))),
        ("FORENSICS_MAX_TEXT_CHARS", post(data={"text": "word " * 100}, format="json")),
        ("FORENSICS_MAX_TEXT_CHARS", post(**_file("long.txt", b"word " * 1000))),
    ],
    "a request body over 5 MiB outside file parts (send large content as a `file`)": [
        ("JSON body", post(**_json('{"text": "' + "x" * (5 * 1024 * 1024 + 10) + '"}'))),
    ],
    "truncated or corrupt image or video (an MP4 cut inside its index included)": [
        ("truncated JPEG", post(**_file("cut.jpg", jpeg_bytes(seed=2)[:400]))),
        ("truncated MP4", post(**_file("cut.mp4", mp4_bytes()[:300]))),
    ],
}


def test_every_row_of_the_readme_table_has_examples() -> None:
    assert sorted(_table()) == sorted(EXAMPLES)


@pytest.mark.parametrize("row", sorted(EXAMPLES))
def test_each_row_answers_its_status(api, settings, row: str) -> None:
    settings.FORENSICS_MAX_UPLOAD_BYTES = 20_000  # small limits, so the examples stay small
    settings.FORENSICS_MAX_TEXT_CHARS = 300
    settings.FORENSICS_MAX_VIDEO_SECONDS = 2
    status = _table()[row]
    for name, request in EXAMPLES[row]:
        response = request(api)
        assert response.status_code == status, (name, response.status_code, response.content[:300])
        assert response["Content-Type"] == "application/problem+json", name
        if name.startswith("FORENSICS_"):  # the limit that refused it is the one the example is about
            assert name in response.json()["detail"], (name, response.json()["detail"])
    assert not Analysis.objects.exists() and not MediaItem.objects.exists()
