"""The moderator console in a real browser (headless Chromium via Playwright), against
the live server and a real Celery worker: log in, drop files, watch them reach a
verdict without a reload, read the evidence, decide, export; the second-reviewer rule.

Screenshots land in test-artifacts/screenshots/ for people to look at.
"""
from __future__ import annotations

import base64
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import make_user
from tests.support.media import jpeg_bytes

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WAIT_MS = 60_000

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]
# Playwright's sync API runs an event loop; the live server's DB access is still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

VERDICT_BADGE = re.compile(r"^(Likely synthetic|Likely authentic|Inconclusive)$")
TEXT = ("Moderation notes from the trust team. We reviewed the uploaded clip twice and found "
        "no sign of editing; the lighting matches the location and the metadata is intact.\n")


@pytest.fixture
def page():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)  # assertions wait for the page, never snapshot it
        refused = []  # what the console's Content-Security-Policy blocked: it must block nothing of ours
        page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
        yield page
        browser.close()
        assert not refused, refused


@pytest.fixture
def console(live_server, worker_factory, tenant, settings):  # type: ignore[no-untyped-def]
    """Live server + worker running only the test detectors (model detectors are tested on their own)."""
    from detectors.registry import registered_names

    settings.FORENSICS_SECOND_REVIEW_SCORE = 0.9
    disabled = [n for n in registered_names() if not n.startswith("test-")]
    worker_factory({"FORENSICS_DISABLED_DETECTORS": ",".join(disabled)})
    SHOTS.mkdir(parents=True, exist_ok=True)
    return live_server.url


def shot(page, name: str, full: bool = True) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def log_in(page, url: str, username: str, screenshot: str | None = None) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct horse battery")
    if screenshot:
        shot(page, screenshot)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/")


def drop_files(page, files: list[tuple[str, str, bytes]]) -> None:  # type: ignore[no-untyped-def]
    """A real drop event carrying a DataTransfer with these files, as a user's drag would."""
    payload = [{"name": n, "type": t, "b64": base64.b64encode(b).decode()} for n, t, b in files]
    transfer = page.evaluate_handle("""(files) => {
        const dt = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
            dt.items.add(new File([bytes], f.name, { type: f.type }));
        }
        return dt;
    }""", payload)
    zone = page.locator("[data-dropzone]")
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    zone.dispatch_event("drop", {"dataTransfer": transfer})


def webm_bytes(frames: int = 36, size: tuple[int, int] = (96, 64), fps: int = 12) -> bytes:
    """A VP8 WebM whose brightness ramps up: a codec Chromium plays (MPEG-4 Part 2 it does not)."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            arr = np.full((size[1], size[0], 3), int(255 * i / frames), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


# Every visible form control has a label, and text meets WCAG AA contrast (4.5:1) against
# what is actually behind it (semi-transparent backgrounds blended over their parents).
A11Y_PROBLEMS = """() => {
  const problems = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || el.closest("[hidden], dialog:not([open])")) continue;
    const named = el.labels.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!named) problems.push("no label: " + el.outerHTML.slice(0, 80));
  }
  const rgba = (c) => {
    const m = c.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const over = (top, under) => top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3])).concat([1]);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    if (el.closest("[hidden], dialog:not([open]), svg, .sr-only, .skip-link")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || Number(style.opacity) === 0) continue;
    const fg = over(rgba(style.color), background(el)), bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)}: ${el.tagName} "${text}"`);
  }
  return problems;
}"""


def assert_accessible(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(A11Y_PROBLEMS) == []


def bright_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (160, 120), (250, 250, 250)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_drop_upload_live_verdict_evidence_review_and_export(page, console, tenant) -> None:
    make_user(tenant, "lead", role="admin")  # reviews and exports
    log_in(page, console, "lead", screenshot="01-login")
    expect(page.get_by_role("heading", name="Items")).to_be_visible()

    page.get_by_role("link", name="Upload").first.click()
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    drop_files(page, [
        ("portrait.jpg", "image/jpeg", jpeg_bytes(seed=7, size=(178, 218))),
        ("notes.md", "text/markdown", TEXT.encode()),
        ("setup.exe", "application/octet-stream", b"MZ\x90\x00" + bytes(300)),
    ])
    rows = page.locator("#uploads li.upload")
    rows.nth(2).get_by_role("alert").wait_for()  # the refusal is shown inline and announced
    expect(rows.nth(2)).to_contain_text("Refused")
    for i in (0, 1):  # live progress to a verdict, then a link to the item
        rows.nth(i).get_by_role("link", name="Open item").wait_for()
        expect(rows.nth(i).locator(".badge")).to_have_text(VERDICT_BADGE)
    assert page.evaluate("window.__sameDocument") is True
    shot(page, "02-upload")
    assert_accessible(page)

    # The image: heatmap overlay toggles on and its opacity follows the slider.
    rows.nth(0).get_by_role("link", name="Open item").click()
    page.wait_for_url("**/items/**")
    heatmap = page.locator("img[data-heatmap]")
    expect(heatmap).to_be_hidden()
    page.get_by_label("Show heatmap").check()
    expect(heatmap).to_be_visible()
    page.get_by_label("Heatmap opacity").fill("0.4")
    expect(heatmap).to_have_css("opacity", "0.4")
    expect(page.locator("[data-facebox]").first).to_be_attached()
    expect(page.locator("main")).to_contain_text("analysis.completed")
    shot(page, "03-item-image")
    assert_accessible(page)

    # A review decision by keyboard: "a" picks "Confirm authentic" and focuses the reason.
    page.locator("main").click(position={"x": 5, "y": 5})
    page.keyboard.press("a")
    expect(page.get_by_label("Confirm authentic")).to_be_checked()
    page.keyboard.type("camera original, checked EXIF")
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Decision recorded in the audit trail.").wait_for()
    expect(page.locator(".history")).to_contain_text("review.decided")

    # Export this item's signed report and download it once the worker built it.
    page.get_by_role("button", name="Export signed report of this item").click()
    page.wait_for_url("**/reports/")
    # The page refreshes itself while the export runs.
    page.wait_for_function("() => /Done|Failed/.test(document.querySelector('tbody tr .state')?.textContent || '')")
    expect(page.locator("tbody tr").first).to_contain_text("Done")
    download_link = page.get_by_role("link", name="Download").first
    with page.expect_download() as info:
        download_link.click()
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")
    shot(page, "07-reports")
    assert_accessible(page)

    # The queue and its keyboard help; then the text item's highlighted spans.
    page.get_by_role("link", name="Items").first.click()
    page.wait_for_url(f"{console}/")  # key presses do not wait: the queue page and its script must be there
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator("tr.cursor")).to_have_count(1)
    bulk_reason = page.get_by_label("Reason (one for all; each item gets its own audit event)")
    bulk_reason.type("jke")  # typing in a field is never a shortcut
    expect(bulk_reason).to_have_value("jke")
    expect(page.locator("tr.cursor")).to_have_count(1)
    expect(page.locator("tr[data-row]").first).to_have_class("cursor")
    expect(page.get_by_label("Escalate")).not_to_be_checked()
    bulk_reason.fill("")
    shot(page, "04-queue")
    assert_accessible(page)
    page.get_by_role("link", name="notes.md").click()
    expect(page.locator("mark.span-machine").nth(5)).to_be_attached()
    expect(page.locator("mark.span-human").nth(5)).to_be_attached()
    assert page.locator("pre.highlighted").inner_text().strip() == TEXT.strip()  # highlighting keeps the text
    shot(page, "05-item-text")
    assert_accessible(page)


def test_video_timeline_second_review_and_small_screen(page, console, tenant, tmp_path) -> None:
    make_user(tenant, "first")
    make_user(tenant, "second")
    video, bright = tmp_path / "clip.webm", tmp_path / "bright.jpg"
    video.write_bytes(webm_bytes())
    bright.write_bytes(bright_jpeg())

    log_in(page, console, "first")
    page.get_by_role("link", name="Upload").first.click()
    page.get_by_label("Choose files…").set_input_files([str(video), str(bright)])  # the keyboard-reachable picker
    rows = page.locator("#uploads li.upload")
    for i in (0, 1):
        rows.nth(i).get_by_role("link", name="Open item").wait_for()

    # The video: per-frame timeline, and clicking a point seeks the video.
    rows.nth(0).get_by_role("link", name="Open item").click()
    page.wait_for_url("**/items/**")
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    points = page.locator("[data-timeline] .tl-point")
    expect(points.nth(3)).to_be_attached()
    points.nth(2).click()
    page.wait_for_function("document.querySelector('video').currentTime > 0")
    shot(page, "06-item-video")
    assert_accessible(page)

    # A high score needs two reviewers: the first decision waits for a second person.
    page.goto(f"{console}/?sort=score_desc")
    page.get_by_role("link", name="bright.jpg").click()
    page.get_by_label("Confirm synthetic").check()
    page.get_by_label("Reason (recorded in the audit trail)").fill("flat synthetic fill")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#analysis .rstate")).to_have_text("Needs second review")
    item_url = page.url
    page.get_by_role("button", name="Log out").click()

    log_in(page, console, "second")
    page.goto(f"{console}/?review=pending_second")
    expect(page.get_by_role("link", name="bright.jpg")).to_be_visible()
    page.goto(item_url)
    page.get_by_label("Confirm synthetic").check()
    page.get_by_label("Reason (recorded in the audit trail)").fill("agree, no camera noise at all")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#analysis .rstate")).to_have_text("Reviewed")
    expect(page.locator(".history")).to_contain_text("confirmed")

    # Bulk decision by keyboard: select both rows with j/x, escalate with one reason.
    page.goto(f"{console}/")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("e")
    expect(page.get_by_label("Escalate")).to_be_checked()
    page.keyboard.type("same uploader, look at both")  # e focused the reason field
    page.get_by_role("button", name="Record for selected").click()
    page.get_by_text("Decision recorded for 2 item(s)").wait_for()
    expect(page.locator(".rstate.r-escalated")).to_have_count(2)

    # The queue on a phone-sized screen.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{console}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # nothing pushes the page sideways
    shot(page, "08-queue-375px")
