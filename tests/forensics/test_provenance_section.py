"""The provenance section of a real analysis: C2PA state and near-duplicates of earlier items."""
import io
from pathlib import Path

import pytest
from PIL import Image

from forensics import services
from forensics.models import PerceptualHash
from tests.support.media import REAL_FACES, mp4_bytes

pytestmark = pytest.mark.usefixtures("eager_celery")


def real_photo(index: int = 0) -> bytes:
    files = sorted(REAL_FACES.glob("*.jpg"))[index:index + 1] if REAL_FACES.exists() else []
    if not files:
        pytest.skip(f"real photos not available at {REAL_FACES}")
    return files[0].read_bytes()


def reencode(data: bytes, scale: float, quality: int) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def done(analysis):  # type: ignore[no-untyped-def]
    analysis.refresh_from_db()
    assert analysis.state == "done", analysis.error
    return analysis


def test_a_reencoded_resized_copy_is_found_with_the_earlier_verdict(actor) -> None:
    original = done(services.submit_chunks(actor, [real_photo(3)], original_name="known.jpg"))
    unrelated = done(services.submit_chunks(actor, [real_photo(4)], original_name="other.jpg"))
    copy = done(services.submit_chunks(actor, [reencode(real_photo(3), 0.6, 60)], original_name="repost.jpg"))
    matches = copy.provenance["near_duplicates"]
    assert [m["item_id"] for m in matches] == [str(original.item_id)]
    assert matches[0]["distance"] <= 31 and matches[0]["verdict"] == original.verdict
    assert str(unrelated.item_id) not in {m["item_id"] for m in matches}


def test_near_duplicates_stay_inside_the_tenant(actor, other_tenant) -> None:
    from webapp.accounts.tenancy import system_actor

    done(services.submit_chunks(system_actor(other_tenant), [real_photo(5)]))
    copy = done(services.submit_chunks(actor, [reencode(real_photo(5), 0.8, 70)]))
    assert copy.provenance["near_duplicates"] == []


def test_unsigned_image_reports_c2pa_absent_and_pdq(actor) -> None:
    analysis = done(services.submit_chunks(actor, [real_photo(6)]))
    assert analysis.provenance["c2pa"]["state"] == "absent"
    assert len(analysis.provenance["pdq"][0]["hash"]) == 64
    assert PerceptualHash.objects.filter(item=analysis.item).count() == 1


def test_c2pa_signed_ai_image_is_reported(actor, tmp_path: Path) -> None:
    from provenance.c2pa_check import sign_with_c2pa
    from tests.support.certs import make_chain

    source = tmp_path / "gen.jpg"
    source.write_bytes(real_photo(7))
    chain = make_chain()
    signed = tmp_path / "signed.jpg"
    sign_with_c2pa(source, signed, chain["chain"], chain["key"], digital_source_type="trainedAlgorithmicMedia")
    c2pa = done(services.submit_path(actor, signed)).provenance["c2pa"]
    assert c2pa["state"] == "untrusted" and "signingCredential.untrusted" in c2pa["informational_codes"] + c2pa["failure_codes"] + c2pa["success_codes"]
    assert c2pa["ai_generated"] is True


def test_video_frames_are_hashed(actor) -> None:
    analysis = done(services.submit_chunks(actor, [mp4_bytes(frames=24)]))
    frames = analysis.provenance["pdq"]
    assert len(frames) >= 2 and all(len(f["hash"]) == 64 for f in frames)


def test_a_copy_of_a_confirmed_fake_is_flagged_as_known(actor) -> None:
    from forensics.reviews import record_review

    fake = done(services.submit_chunks(actor, [real_photo(8)], original_name="fake.jpg"))
    record_review(actor, fake, "confirm_synthetic", "face swap confirmed by the trust team")
    copy = done(services.submit_chunks(actor, [reencode(real_photo(8), 0.5, 60)], original_name="repost.jpg"))
    match = copy.provenance["near_duplicates"][0]
    assert match["known_fake"] is True and match["review_decision"] == "confirm_synthetic"
    assert copy.provenance["metadata"]["flags"][0].startswith("Near-duplicate")
