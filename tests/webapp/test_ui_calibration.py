"""The console's calibration pages: list, create from reviewed items, detail with the ROC plot, activate,
return to the shipped thresholds, who may do what, tenant isolation, and the expected FPR on the item page.

The detector is the test plugin ``test-brightness`` (score = mean brightness), so an image's grey level is its
score and the reviewed items below make a set whose thresholds can be worked out by hand.
"""
from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from forensics import services
from forensics.models import Analysis, Calibration
from forensics.reviews import record_review
from tests.conftest import make_user
from tests.support.media import gray_png
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import system_actor
from webapp.ui.roc_svg import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, roc_plot

REALS = [0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65]  # the shipped 0.5 flags half of these
FAKES = [0.80, 0.84, 0.88]  # below the second-review score (0.9): one reviewer's word is final


def reviewed(tenant: Tenant, levels: list[float], decision: str, seed: int = 0) -> list[Analysis]:
    """Analyse each image (eagerly) and record a final review decision on it."""
    actor = system_actor(tenant, "user:reviewer")
    out = []
    for i, level in enumerate(levels):
        analysis = services.submit_chunks(actor, [gray_png(level, seed + i)], original_name=f"{decision}-{i}.png")
        analysis.refresh_from_db()
        record_review(actor, analysis, decision, "checked against the source")
        out.append(analysis)
    return out


@pytest.fixture
def admin_client(client, tenant):  # type: ignore[no-untyped-def]
    client.force_login(make_user(tenant, "boss", "admin"))
    return client


@pytest.fixture
def small_sets(settings):  # type: ignore[no-untyped-def]
    settings.FORENSICS_CALIBRATION_MIN_REAL = len(REALS)
    settings.FORENSICS_CALIBRATION_BOOTSTRAP = 30


def finished(tenant: Tenant, **fields) -> Calibration:  # type: ignore[no-untyped-def]
    """A calibration row as the job leaves it, without running the job."""
    defaults = {"version": 1, "source": "reviewed", "target_fpr": 0.01, "created_by": "user:boss",
                "state": "done", "real_count": 200, "thresholds": {"test-brightness": 0.7},
                "result": {"detectors": {"test-brightness": {"status": "calibrated", "threshold": 0.7,
                                                             "shipped_threshold": 0.5, "n_real": 200, "n_fake": 0}},
                           "fused": {"n_real": 200, "n_fake": 0, "fpr_in_sample": 0.01, "expected_fpr": 0.012,
                                     "fpr_interval": [0.0, 0.03], "tpr": None, "reachable": True}}}
    return Calibration.objects.create(tenant=tenant, **{**defaults, **fields})


def test_every_member_sees_the_page_only_admins_see_the_actions(moderator_client, tenant) -> None:
    finished(tenant, is_active=True)
    page = moderator_client.get("/calibration/").content.decode()
    assert 'href="/calibration/"' in page  # in the nav
    assert "v1" in page and "active" in page and "1.2% (95% interval 0.0–3.0%)" in page
    assert "Calibrate on reviewed items" not in page and "Use the shipped thresholds" not in page


def test_too_few_reviewed_items_are_refused_with_the_count_needed(admin_client, tenant, settings) -> None:
    settings.FORENSICS_CALIBRATION_MIN_REAL = 200
    page = admin_client.get("/calibration/").content.decode()
    assert "Calibrate on reviewed items" in page and "<strong>0</strong> confirmed authentic" in page
    response = admin_client.post("/calibration/", {"target_percent": "1", "name": "phones"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Refused: A calibration needs at least 200 known-real items and this set has 0: add 200 more" in body
    assert 'value="phones"' in body  # the form keeps what was typed
    assert not Calibration.objects.exists()


def test_a_target_outside_the_range_is_refused_in_percent(admin_client, tenant) -> None:
    response = admin_client.post("/calibration/", {"target_percent": "50"})
    assert response.status_code == 400
    assert "Target false-positive rate (%): Ensure this value is less than or equal to 20" in response.content.decode()
    assert not Calibration.objects.exists()


def test_create_from_reviewed_items_see_the_roc_activate_and_return_to_shipped(
        admin_client, tenant, eager_celery, small_sets) -> None:
    reviewed(tenant, REALS, "confirm_authentic")
    reviewed(tenant, FAKES, "confirm_synthetic", seed=100)
    assert f"<strong>{len(REALS)}</strong> confirmed authentic" in admin_client.get("/calibration/").content.decode()

    response = admin_client.post("/calibration/", {"target_percent": "12.5", "name": "phone photos"})
    calibration = Calibration.objects.get(tenant=tenant)
    assert response.status_code == 302 and response["Location"] == f"/calibration/{calibration.pk}/"
    calibration.refresh_from_db()
    assert calibration.state == "done", calibration.error
    assert calibration.target_fpr == pytest.approx(0.125) and calibration.name == "phone photos"
    assert (calibration.real_count, calibration.fake_count) == (len(REALS), len(FAKES))

    page = admin_client.get(response["Location"]).content.decode()
    assert "Calibration v1 “phone photos”" in page and "data-refresh" not in page
    assert '<svg class="roc"' in page and 'data-operating-point="test-brightness"' in page
    assert 'data-operating-point="fused"' in page and "False-positive rate (real items flagged)" in page
    new = calibration.thresholds["test-brightness"]
    assert f"0.500 → <strong>{new:.3f}</strong>" in page and "calibrated" in page
    assert "Fused verdict" in page and "95% interval" in page
    assert ">Activate</button>" in page

    response = admin_client.post(f"/calibration/{calibration.pk}/activate")
    assert response.status_code == 302
    calibration.refresh_from_db()
    assert calibration.is_active
    page = admin_client.get(response["Location"]).content.decode()
    assert "is now your operating point" in page and ">Activate</button>" not in page
    assert "Use the shipped thresholds" in admin_client.get("/calibration/").content.decode()

    # An item analysed now is decided by the calibration, and its page says so.
    upload = admin_client.post("/upload/", {"files": [SimpleUploadedFile("new.png", gray_png(0.6, 999))]})
    item = admin_client.get(upload["Location"]).content.decode()
    assert "Expected false-positive rate:" in item and "on this tenant&#x27;s real media (calibration v1)" in item
    assert f'href="/calibration/{calibration.pk}/"' in item

    response = admin_client.post("/calibration/shipped", follow=True)
    calibration.refresh_from_db()
    assert not calibration.is_active and calibration.retired_at is not None
    assert "Calibration v1 retired" in response.content.decode()
    assert "the shipped thresholds" in response.content.decode()
    assert '<span class="badge">retired</span>' in response.content.decode()


def test_without_synthetic_items_the_page_says_what_a_roc_needs(admin_client, tenant, eager_celery,
                                                                small_sets) -> None:
    reviewed(tenant, REALS, "confirm_authentic")
    response = admin_client.post("/calibration/", {"target_percent": "1"}, follow=True)
    page = response.content.decode()
    assert "No known-synthetic items: TPR and ROC need some" in page
    assert "<svg" not in page.split('id="roc-heading"')[1]


def test_a_running_calibration_shows_its_progress_and_refreshes(moderator_client, tenant) -> None:
    running = finished(tenant, state="running", progress=0.4, stage="scoring with test-brightness", result={})
    page = moderator_client.get(f"/calibration/{running.pk}/").content.decode()
    assert 'data-refresh="2"' in page and "40% — scoring with test-brightness" in page
    assert 'data-refresh="2"' in moderator_client.get("/calibration/").content.decode()


def test_a_refused_calibration_says_why_and_cannot_be_activated(admin_client, tenant) -> None:
    refused = finished(tenant, state="refused", result={}, thresholds={},
                       error="no detector judged at least 200 of the real items (test-gated judged 0)")
    page = admin_client.get(f"/calibration/{refused.pk}/").content.decode()
    assert "Refused</th><td>no detector judged at least 200" in page
    assert ">Activate</button>" not in page and "data-refresh" not in page
    response = admin_client.post(f"/calibration/{refused.pk}/activate", follow=True)
    assert "Calibration v1 is refused; only a finished calibration can be activated" in response.content.decode()


def test_a_moderator_may_not_create_activate_or_switch(moderator_client, tenant) -> None:
    calibration = finished(tenant)
    assert moderator_client.get(f"/calibration/{calibration.pk}/").status_code == 200
    assert ">Activate</button>" not in moderator_client.get(f"/calibration/{calibration.pk}/").content.decode()
    assert moderator_client.post("/calibration/", {"target_percent": "1"}).status_code == 403
    assert moderator_client.post(f"/calibration/{calibration.pk}/activate").status_code == 403
    assert moderator_client.post("/calibration/shipped").status_code == 403
    calibration.refresh_from_db()
    assert not calibration.is_active


def test_another_tenants_calibration_is_not_found(admin_client, other_tenant) -> None:
    theirs = finished(other_tenant, name="globex secret")
    assert admin_client.get(f"/calibration/{theirs.pk}/").status_code == 404
    assert admin_client.post(f"/calibration/{theirs.pk}/activate").status_code == 404
    assert "globex secret" not in admin_client.get("/calibration/").content.decode()
    theirs.refresh_from_db()
    assert not theirs.is_active


def test_the_item_page_names_the_shipped_operating_point(moderator_client, eager_celery) -> None:
    upload = moderator_client.post("/upload/", {"files": [SimpleUploadedFile("a.png", gray_png(0.3, 1))]})
    page = moderator_client.get(upload["Location"]).content.decode()
    assert "Expected false-positive rate:" in page and "shipped thresholds" in page
    assert 'href="/calibration/">calibrate on your own media' in page


def test_the_pages_keep_to_the_content_security_policy(admin_client, tenant) -> None:
    """The ROC is inline SVG: no script, no event handler, no style attribute, nothing from elsewhere."""
    result = {"target_fpr": 0.01, "fused": {"fpr_in_sample": 0.01, "tpr": 0.9, "reachable": True},
              "detectors": {"test-brightness": {"status": "calibrated", "roc": [[0, 0], [0.01, 0.9], [1, 1]],
                                                "fpr_in_sample": 0.01, "tpr": 0.9, "auc": 0.95}}}
    calibration = finished(tenant, fake_count=20, result=result)
    for url in ("/calibration/", f"/calibration/{calibration.pk}/"):
        response = admin_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200 and "script-src 'self'" in response["Content-Security-Policy"]
        assert all("src=" in attrs and not body.strip()
                   for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.DOTALL))
        assert not re.search(r"\s(on[a-z]+|style)\s*=", html) and "javascript:" not in html
        assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing loaded from another origin
    assert '<svg class="roc"' in html


def test_the_roc_plot_maps_rates_onto_the_axes() -> None:
    result = {"target_fpr": 0.25, "fused": {"fpr_in_sample": 0.5, "tpr": 0.5},
              "detectors": {"b": {"status": "calibrated", "roc": [[0, 0], [0.5, 0.9], [1, 1]],
                                  "fpr_in_sample": 0.0, "tpr": 1.0, "auc": 0.9},
                            "a": {"status": "shipped", "roc": [[0, 0], [1, 1]]}}}
    plot = roc_plot(result)
    assert plot is not None and [c.detector for c in plot.curves] == ["b"]  # shipped detectors are not drawn
    curve = plot.curves[0]
    assert curve.points.split()[0] == f"{LEFT:.1f},{HEIGHT - BOTTOM:.1f}"
    assert curve.points.split()[-1] == f"{WIDTH - RIGHT:.1f},{TOP:.1f}"
    assert (curve.marker.x, curve.marker.y) == (LEFT, TOP)  # FPR 0, TPR 1: the top-left corner
    assert plot.fused.x == (LEFT + WIDTH - RIGHT) / 2 and plot.target_x == LEFT + (WIDTH - LEFT - RIGHT) / 4
    assert roc_plot({"detectors": {"b": {"status": "calibrated"}}}) is None  # no synthetic items: no ROC
