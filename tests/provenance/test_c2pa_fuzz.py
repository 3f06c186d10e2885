"""The C2PA reader on broken files, signed ones included: an explicit state (absent, invalid, error, ...),
never an exception."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("c2pa", reason="c2pa-python is not installed")
from provenance.c2pa_check import check_c2pa, sign_with_c2pa
from tests.support.certs import make_chain
from tests.support.fuzz import FUZZ, broken
from tests.support.media import jpeg_bytes, mp4_bytes, png_bytes

STATES = {"absent", "valid", "untrusted", "trusted", "invalid", "error"}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("c2pa-fuzz")
    (folder / "plain.jpg").write_bytes(jpeg_bytes(seed=3, size=(64, 64)))
    chain = make_chain()
    sign_with_c2pa(folder / "plain.jpg", folder / "signed.jpg", chain["chain"], chain["key"])
    return {"signed-jpeg": ("image/jpeg", (folder / "signed.jpg").read_bytes()),
            "jpeg": ("image/jpeg", jpeg_bytes(seed=3, size=(32, 32))),
            "png": ("image/png", png_bytes(seed=3, size=(16, 16))),
            "mp4": ("video/mp4", mp4_bytes(frames=4, size=(32, 32)))}


@pytest.mark.parametrize("kind", ["signed-jpeg", "jpeg", "png", "mp4"])
def test_broken_files_get_a_c2pa_state(seeds, kind: str) -> None:  # type: ignore[no-untyped-def]
    mime, seed = seeds[kind]

    @FUZZ
    @given(data=broken(seed), declared=st.sampled_from([mime, None]))
    def check(data: bytes, declared: str | None) -> None:
        assert check_c2pa(data, mime_type=declared).state in STATES

    check()
    if kind == "signed-jpeg":
        assert check_c2pa(seed, mime_type=mime).state == "untrusted"  # the seed itself is a real manifest
