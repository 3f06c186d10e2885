"""Ed25519 report signing: round trips, tampering, wrong keys, key file handling."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from provenance.canonical import canonical_json
from provenance.signing import (
    DetachedSignature,
    SignatureFormatError,
    key_id,
    load_or_create_private_key,
    load_public_key_pem,
    public_key_pem,
    sign_bytes,
    sign_file,
    sign_json,
    verify_bytes,
    verify_file,
    verify_json,
)


@pytest.fixture
def key(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_or_create_private_key(tmp_path / "keys" / "report-signing.pem")


def test_key_created_0600_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.pem"
    first = load_or_create_private_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_private_key(path)
    assert key_id(first.public_key()) == key_id(again.public_key())
    assert len(key_id(first.public_key())) == 16


def test_world_readable_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    load_or_create_private_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError):
        load_or_create_private_key(path)


def test_bytes_round_trip_and_tamper(key) -> None:  # type: ignore[no-untyped-def]
    data = b"report body \x00\x01 with bytes"
    sig = sign_bytes(data, key)
    assert sig.alg == "Ed25519" and sig.key_id == key_id(key.public_key())
    public = load_public_key_pem(public_key_pem(key))  # as a verifier gets it from the well-known URL
    assert verify_bytes(data, sig, public)
    assert verify_bytes(data, sig.to_json(), public)  # via its JSON form
    for i in (0, len(data) // 2, len(data) - 1):
        changed = bytearray(data)
        changed[i] ^= 0x01
        assert not verify_bytes(bytes(changed), sig, public)


def test_wrong_key_fails(key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = load_or_create_private_key(tmp_path / "other.pem")
    sig = sign_bytes(b"x", key)
    assert not verify_bytes(b"x", sig, other.public_key())
    # Same key id forged onto another key's signature still fails the maths.
    forged = DetachedSignature(**{**sig.to_dict(), "sig": sign_bytes(b"x", other).sig})
    assert not verify_bytes(b"x", forged, key.public_key())
    # Key rotation: the right key is picked from several by key id.
    assert verify_bytes(b"x", sig, [other.public_key(), key.public_key()])


def test_signature_for_one_use_does_not_verify_another(key) -> None:  # type: ignore[no-untyped-def]
    signed = sign_json({"a": 1}, key)
    as_bytes = DetachedSignature.from_dict(signed["signature"])
    assert not verify_bytes(canonical_json({"a": 1}), as_bytes, key.public_key())


def test_malformed_signature(key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SignatureFormatError):
        verify_bytes(b"x", "not json", key.public_key())
    bad = {**sign_bytes(b"x", key).to_dict(), "sig": "AAAA"}
    assert not verify_bytes(b"x", bad, key.public_key())


def test_json_report_round_trip(key) -> None:  # type: ignore[no-untyped-def]
    report = {"asset_sha256": "ab" * 32, "verdict": "synthetic", "score": "0.93", "detectors": [{"name": "x"}],
              "note": "ünïcode"}
    signed = sign_json(report, key)
    assert verify_json(signed, key.public_key())
    # Survives serialisation with a different key order and whitespace.
    reparsed = json.loads(json.dumps(signed, indent=4, sort_keys=False))
    assert verify_json(reparsed, key.public_key())
    tampered = {**signed, "verdict": "authentic"}
    assert not verify_json(tampered, key.public_key())
    nested = json.loads(json.dumps(signed))
    nested["detectors"][0]["name"] = "y"
    assert not verify_json(nested, key.public_key())
    assert not verify_json(report, key.public_key())  # unsigned
    assert sign_json(signed, key)["signature"]["type"] == "json"  # re-signing replaces, not nests


def test_file_detached_sig(key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "report.pdf"
    path.write_bytes(os.urandom(3 * (1 << 20) + 17))  # larger than one read chunk
    sig = sign_file(path, key)
    sig_path = Path(f"{path}.sig")
    assert sig_path.exists() and json.loads(sig_path.read_text())["sha256"] == sig.sha256
    assert verify_file(path, key.public_key())
    data = bytearray(path.read_bytes())
    data[12345] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not verify_file(path, key.public_key())
