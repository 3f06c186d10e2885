"""C2PA read/validate/sign against real JPEGs, with a CA and leaf made by the test itself."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("c2pa", reason="c2pa-python is not installed")
from provenance.c2pa_check import C2paResult, check_c2pa, sign_with_c2pa
from tests.support.certs import make_chain

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
PHOTO = DATASETS / "celeba-10k" / "images" / "000001.jpg"


@pytest.fixture(scope="module")
def photo() -> Path:
    if not PHOTO.exists():
        pytest.skip(f"real photo not available: {PHOTO} (shared/datasets/celeba-10k missing)")
    return PHOTO


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, photo: Path) -> tuple[Path, dict[str, bytes]]:
    chain = make_chain()
    out = tmp_path_factory.mktemp("c2pa") / "signed.jpg"
    sign_with_c2pa(photo, out, chain["chain"], chain["key"], digital_source_type="trainedAlgorithmicMedia")
    return out, chain


def test_unsigned_photo_is_absent(photo: Path) -> None:
    result = check_c2pa(photo)
    assert isinstance(result, C2paResult)
    assert result.state == "absent"
    assert result.failure_codes == [] and result.active_manifest is None


def test_signed_with_unknown_ca_is_untrusted_with_code(signed: tuple[Path, dict[str, bytes]]) -> None:
    path, _ = signed
    result = check_c2pa(path)
    assert result.state == "untrusted"
    assert result.validation_state == "Valid"
    assert result.failure_codes == ["signingCredential.untrusted"]
    assert "assertion.dataHash.match" in result.success_codes
    assert "claimSignature.validated" in result.success_codes
    assert result.active_manifest and result.active_manifest.startswith("urn:c2pa:")
    assert result.signer == "Tenant Generator"
    assert result.issuer == "Forensics Test CA"
    assert result.claim_generator == "media-forensics/0.1.0"
    assert [a.action for a in result.actions] == ["c2pa.created"]
    assert result.ai_generated is True
    assert result.digital_source_types == ["trainedAlgorithmicMedia"]
    assert result.to_dict()["state"] == "untrusted"


def test_signed_is_trusted_when_test_ca_is_an_anchor(signed: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    path, chain = signed
    bundle = tmp_path / "anchors.pem"
    bundle.write_bytes(chain["ca"])
    result = check_c2pa(path, trust_anchors=bundle)
    assert result.state == "trusted"
    assert result.validation_state == "Trusted"
    assert result.failure_codes == []
    assert "signingCredential.trusted" in result.success_codes


def test_another_ca_as_anchor_does_not_make_it_trusted(signed: tuple[Path, dict[str, bytes]]) -> None:
    path, _ = signed
    other = make_chain()
    result = check_c2pa(path, trust_anchors_pem=other["ca"].decode())
    assert result.state == "untrusted"


def test_trust_not_checked_reads_valid(signed: tuple[Path, dict[str, bytes]]) -> None:
    result = check_c2pa(signed[0], check_trust=False)
    assert result.state == "valid", result


def test_one_flipped_byte_is_invalid_with_hash_mismatch(signed: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    data = bytearray(signed[0].read_bytes())
    data[-20] ^= 0x01  # inside the entropy-coded image data, after the manifest (APP11 near the start)
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))
    result = check_c2pa(tampered)
    assert result.state == "invalid"
    assert result.validation_state == "Invalid"
    assert "assertion.dataHash.mismatch" in result.failure_codes
    # The same bytes, given as bytes with no name, read the same.
    assert check_c2pa(bytes(data), mime_type="image/jpeg").state == "invalid"


def test_extensionless_content_addressed_file_is_detected(
    signed: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    blob = tmp_path / "3f2a9c"
    shutil.copyfile(signed[0], blob)
    assert check_c2pa(blob).state == "untrusted"


def test_composite_source_type_and_custom_actions(photo: Path, tmp_path: Path) -> None:
    chain = make_chain()
    out = tmp_path / "edited.jpg"
    actions = [
        {"action": "c2pa.created",
         "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"},
        {"action": "c2pa.edited",
         "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"},
    ]
    sign_with_c2pa(photo, out, chain["chain"], chain["key"], actions=actions)
    result = check_c2pa(out)
    assert [a.action for a in result.actions] == ["c2pa.created", "c2pa.edited"]
    assert result.ai_generated is True
    assert result.digital_source_types == ["compositeWithTrainedAlgorithmicMedia", "digitalCapture"]


def test_camera_capture_is_not_flagged_as_ai(photo: Path, tmp_path: Path) -> None:
    chain = make_chain()
    out = tmp_path / "capture.jpg"
    sign_with_c2pa(photo, out, chain["chain"], chain["key"], digital_source_type="digitalCapture")
    result = check_c2pa(out)
    assert result.state == "untrusted" and result.ai_generated is False


def test_garbage_is_error_not_absent(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg" * 3)
    result = check_c2pa(junk)
    assert result.state == "error" and "parse" in (result.error or "")
    assert check_c2pa(b"hello" * 40).state == "error"  # unknown container: error, not "absent"
    missing = check_c2pa(tmp_path / "missing.jpg")
    assert missing.state == "error" and missing.error
