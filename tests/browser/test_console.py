"""The moderator console's main path in a real browser (headless Chromium via Playwright):
log in, upload a real face photo, watch the job finish live, read the evidence.

Screenshots land in test-artifacts/screenshots/ for people to look at.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_user
from tests.support.media import REAL_FACES, jpeg_bytes

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]
# Playwright's sync API runs an event loop; the live server's DB access is still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def test_login_upload_and_watch_the_verdict(page, live_server, worker, tenant, tmp_path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    make_user(tenant, "moderator1")
    photo = tmp_path / "portrait.jpg"
    faces = sorted(REAL_FACES.glob("*.jpg"))[:1] if REAL_FACES.exists() else []
    photo.write_bytes(faces[0].read_bytes() if faces else jpeg_bytes(size=(178, 218)))

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("moderator1")
    page.get_by_label("Password").fill("correct horse battery")
    page.screenshot(path=str(SHOTS / "01-login.png"))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Items").is_visible()

    page.get_by_role("link", name="Upload").first.click()
    page.get_by_label("Files").set_input_files(str(photo))
    page.screenshot(path=str(SHOTS / "02-upload.png"))
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url("**/items/**")

    # The page polls the status endpoint and reloads when the worker is done.
    page.locator("#state", has_text="Done").wait_for(timeout=60_000)
    text = page.locator("main").inner_text()
    assert "portrait.jpg" in text
    assert "test-brightness" in text  # the detector table
    assert "analysis.completed" in text  # the audit history
    page.screenshot(path=str(SHOTS / "03-item.png"), full_page=True)

    page.get_by_role("link", name="Items").first.click()
    assert "portrait.jpg" in page.locator("table.items").inner_text()
    page.screenshot(path=str(SHOTS / "04-items.png"))
