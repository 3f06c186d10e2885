"""The signature a receiver checks: HMAC-SHA256 over "<timestamp>.<raw body>"."""
import time

import pytest

from webapp.webhooks.signing import SignatureError, sign, verify_signature

SECRET = "whsec_test-secret"
BODY = b'{"type":"analysis.completed","data":{"analysis":{"verdict":"likely_synthetic"}}}'


def test_a_fresh_signature_verifies(late_clock) -> None:  # type: ignore[no-untyped-def]
    header = sign(SECRET, BODY)
    assert header.startswith("t=") and ",v1=" in header
    assert abs(verify_signature(SECRET, header, BODY) - time.time()) < 5


@pytest.fixture(params=[0, 400], ids=["now", "400s-after-collection"])
def late_clock(request, monkeypatch):  # type: ignore[no-untyped-def]
    """Run the test as if it started ``param`` seconds after collection, as in a long, loaded suite run:
    anything signed at import or collection time is then older than the 300 s tolerance."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + request.param)


# Each case builds its header when the test runs (never at import or collection), so a slow run cannot make
# a "fresh" signature stale before it is checked.
TAMPERED = {
    "modified-body": lambda: (BODY.replace(b"synthetic", b"authentic"), sign(SECRET, BODY), SECRET, "does not match"),
    "wrong-secret": lambda: (BODY, sign(SECRET, BODY), "whsec_other", "does not match"),
    "old-timestamp": lambda: (BODY, sign(SECRET, BODY, timestamp=int(time.time()) - 301), SECRET, "tolerance"),
    "no-timestamp": lambda: (BODY, "v1=abc", SECRET, "timestamp"),
    "no-signature": lambda: (BODY, f"t={int(time.time())}", SECRET, "no v1"),
    "no-header": lambda: (BODY, "", SECRET, "timestamp"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampering_is_rejected(case: str, late_clock) -> None:  # type: ignore[no-untyped-def]
    body, header, secret, needle = TAMPERED[case]()
    with pytest.raises(SignatureError, match=needle):
        verify_signature(secret, header, body)


def test_a_replayed_timestamp_cannot_be_moved_forward() -> None:
    """Changing t= to look fresh breaks the MAC, because t is inside it."""
    old = sign(SECRET, BODY, timestamp=int(time.time()) - 3600)
    forged = old.replace(old.split(",")[0], f"t={int(time.time())}")
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(SECRET, forged, BODY)


def test_rotated_secrets_can_send_two_signatures() -> None:
    t = int(time.time())
    header = sign("whsec_old", BODY, timestamp=t) + "," + sign(SECRET, BODY, timestamp=t).split(",")[1]
    assert verify_signature(SECRET, header, BODY) == t
