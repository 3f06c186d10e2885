"""Per-tenant calibration in a real browser (issue 14's "done means"): a tenant admin creates a calibration
from reviewed items, watches it finish, sees the ROC plot, activates it, and sees the new expected
false-positive rate on an item page.

The set is made in the test's setup (analyses through the real worker, review decisions through the service)
with the minimum set size lowered, in the live server (the ``settings`` fixture) and in the worker (its
environment), so a dozen items make a calibration.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import CHROMIUM, SHOTS, assert_accessible, log_in, page, shot  # noqa: F401
from tests.conftest import make_user, wait_for
from tests.support.media import gray_png

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]

MIN_REAL = 8
REALS = [0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65]  # the shipped threshold (0.5) flags half of them
FAKES = [0.80, 0.84, 0.88]  # below the second-review score: one reviewer's decision is final


@pytest.fixture
def calibration_console(live_server, worker_factory, tenant, settings):  # type: ignore[no-untyped-def]
    """Live server + a worker running only the test detectors, both with a small minimum calibration set."""
    from detectors.registry import registered_names

    settings.FORENSICS_SECOND_REVIEW_SCORE = 0.9
    settings.FORENSICS_CALIBRATION_MIN_REAL = MIN_REAL
    settings.FORENSICS_CALIBRATION_BOOTSTRAP = 30
    disabled = [n for n in registered_names() if not n.startswith("test-")]
    worker_factory({"FORENSICS_DISABLED_DETECTORS": ",".join(disabled),
                    "FORENSICS_CALIBRATION_MIN_REAL": str(MIN_REAL), "FORENSICS_CALIBRATION_BOOTSTRAP": "30"})
    SHOTS.mkdir(parents=True, exist_ok=True)
    return live_server.url


def review_set(tenant) -> None:  # type: ignore[no-untyped-def]
    """Known-real and known-synthetic items: analysed by the worker, then decided by a reviewer."""
    from forensics import services
    from forensics.models import Analysis
    from forensics.reviews import record_review
    from webapp.accounts.tenancy import system_actor

    actor = system_actor(tenant, "user:reviewer")
    labelled = [(level, "confirm_authentic") for level in REALS] + [(level, "confirm_synthetic") for level in FAKES]
    analyses = [(services.submit_chunks(actor, [gray_png(level, i)], original_name=f"set-{i:02d}.png"), decision)
                for i, (level, decision) in enumerate(labelled)]
    ids = [a.pk for a, _ in analyses]
    wait_for(lambda: Analysis.objects.filter(pk__in=ids, state="done").count() == len(ids), timeout=120,
             what="the set's analyses")
    for analysis, decision in analyses:
        record_review(actor, analysis, decision, "checked against the original upload")


def test_calibrate_from_reviewed_items_activate_and_see_the_expected_fpr(page, calibration_console, tenant,  # noqa: F811
                                                                         tmp_path) -> None:
    make_user(tenant, "lead", role="admin")
    review_set(tenant)
    log_in(page, calibration_console, "lead")

    page.get_by_role("link", name="Calibration", exact=True).click()
    expect(page.get_by_role("heading", name="Calibration", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"{len(REALS)} confirmed authentic, {len(FAKES)} confirmed synthetic")
    expect(page.locator("main")).to_contain_text("Operating point in use: the shipped thresholds")
    page.get_by_label("Target false-positive rate (%)").fill("12.5")
    page.get_by_label("Name (optional)").fill("Phone photos")
    shot(page, "20-calibration-new")
    assert_accessible(page)
    page.get_by_role("button", name="Calibrate on reviewed items").click()
    page.wait_for_url(re.compile(r".*/calibration/[0-9a-f-]{36}/$"))

    # The page follows the job by itself (no reload), then shows the thresholds and the ROC plot.
    expect(page.locator("[data-calibration-state]")).to_have_text("Done")
    expect(page.locator("svg.roc")).to_be_visible()
    expect(page.locator("svg.roc polyline.roc-curve")).to_have_count(1)
    expect(page.locator('svg.roc [data-operating-point="test-brightness"]')).to_be_attached()
    expect(page.locator('svg.roc [data-operating-point="fused"]')).to_be_attached()
    table = page.locator("table.calibration-table")
    expect(table.get_by_role("row", name=re.compile("^test-brightness"))).to_contain_text("calibrated")
    expect(table.get_by_role("row", name=re.compile("^Fused verdict"))).to_contain_text("95% interval")
    shot(page, "21-calibration-roc")
    assert_accessible(page)

    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".messages")).to_contain_text("Calibration v1 is now your operating point")
    expect(page.locator("main .active-badge")).to_have_text("active")
    expect(page.get_by_role("button", name="Activate")).to_have_count(0)
    calibration_url = page.url

    # An item analysed from now on is decided at the calibrated thresholds, and its page says what to expect.
    image = tmp_path / "after.png"
    image.write_bytes(gray_png(0.45, 500))
    page.get_by_role("link", name="Upload").first.click()
    page.get_by_label("Choose files…").set_input_files([str(image)])
    page.locator("#uploads li.upload").first.get_by_role("link", name="Open item").click()
    page.wait_for_url("**/items/**")
    expected = page.locator("[data-expected-fpr]")
    expect(expected).to_contain_text("Expected false-positive rate:")
    expect(expected).to_contain_text(re.compile(r"\d+\.\d% \(95% interval [\d.]+–[\d.]+%\) on this tenant's real "
                                                r"media \(calibration v1\)"))
    shot(page, "22-item-expected-fpr")
    assert_accessible(page)
    expected.get_by_role("link", name="calibration v1").click()
    page.wait_for_url(calibration_url)

    # One click back to the shipped thresholds.
    page.get_by_role("button", name="Use the shipped thresholds").click()
    expect(page.locator(".messages")).to_contain_text("Calibration v1 retired")
    expect(page.locator("main")).to_contain_text("Operating point in use: the shipped thresholds")
    shot(page, "23-calibration-list")
    assert_accessible(page)
