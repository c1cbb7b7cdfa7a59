"""Every page at 1280x800 and 390x844 in real Chromium: loads without console errors or foreign requests,
every control has an accessible name, nothing overflows sideways; keyboard navigation works."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.auth.conftest import SecureApp
from tests.jobs.synthetic_search import ENROLLED
from tests.ui.conftest import Watched, token, watch
from tests.ui.screenshots import PAGES, VIEWPORTS, populate, take_all
from videolens.services.auth.models import Role


@pytest.fixture
def scene(app: SecureApp, media_dir: Path, tmp_path: Path) -> Iterator[SecureApp]:
    camera = populate(app, media_dir, tmp_path)
    yield app
    camera.terminate()
    camera.wait(10)


def test_every_page_at_both_sizes(
    browser: Browser, scene: SecureApp, media_dir: Path, tmp_path: Path
) -> None:
    for viewport, size in VIEWPORTS.items():
        out = tmp_path / viewport
        out.mkdir()
        report = take_all(browser, scene, out, viewport)
        assert report["errors"] == [] and report["foreign"] == [], report
        assert {r: n for r, n in report["unnamed"].items() if n} == {}
        assert {r: px for r, px in report["overflow"].items() if px > 0} == {}, viewport
        assert [p.name for p in report["files"]] == [f"ui-{route}-{viewport}.png" for route, _ in PAGES]
        for path in report["files"]:
            with Image.open(path) as image:
                assert image.size == (size["width"], size["height"])
            assert path.stat().st_size < 200_000, path
    check_recordings(browser, scene)
    check_sightings(browser, scene, media_dir)
    check_recordings_from_sightings(browser, scene)


def check_recordings_from_sightings(browser: Browser, app: SecureApp) -> None:
    """With the processor (and so its records) gone, the sightings index still marks who was seen where."""
    operator = app.bearer(Role.OPERATOR)
    assert httpx.post(app.url + "/v1/processors/door/stop", headers=operator).status_code < 300
    deadline = time.monotonic() + 30
    while (gone := httpx.delete(app.url + "/v1/processors/door", headers=operator)).status_code == 409:
        assert time.monotonic() < deadline, gone.text  # 409 while it is still stopping
        time.sleep(0.3)
    assert gone.status_code < 300, gone.text
    assert httpx.get(app.url + "/v1/processors", headers=operator).json()["processors"] == []
    arn = httpx.get(app.url + "/v1/streams/lobby", headers=operator).json()["arn"]
    faces = httpx.get(app.url + "/v1/collections/people/faces", headers=operator).json()["faces"]
    obama = next(f["face_id"] for f in faces if f["external_image_id"] == "obama")
    seen = httpx.get(
        app.url + "/v1/sightings/search",
        params={"collection_id": "people", "face_id": obama, "stream": arn},
        headers=operator,
    ).json()["Sightings"]
    fragments = {f for s in seen for f in s["fragments"]}
    assert fragments, "check_sightings found obama on the stream"
    w = watch(browser, app.url)
    try:
        w.sign_in(token(app, Role.VIEWER))
        page = w.page
        page.get_by_role("link", name="Recordings").click()
        page.locator(".timeline .segment").first.wait_for()
        marked = page.locator(".timeline .segment.faces")
        labels = marked.evaluate_all("(els) => els.map((e) => e.getAttribute('aria-label'))")
        obama_marks = [label for label in labels if "obama" in label.split(", faces: ")[-1]]
        # every retained fragment the index saw him in is marked (older ones may have left the timeline)
        retained = {
            f["fragment_number"]
            for f in httpx.get(
                app.url + "/v1/streams/lobby/fragments?max_results=1000", headers=operator
            ).json()["fragments"]
        }
        assert len(obama_marks) >= len(fragments & retained) > 0, (labels, fragments, retained)
        assert w.errors == [] and w.foreign() == []
    finally:
        w.page.context.close()


def check_sightings(browser: Browser, app: SecureApp, media_dir: Path) -> None:
    """A photo of an enrolled person finds their appearances on the live stream; the clip plays."""
    w = watch(browser, app.url)
    try:
        w.sign_in(token(app, Role.VIEWER))
        page = w.page
        page.get_by_role("link", name="Sightings").click()
        photo = media_dir / "faces" / "obama" / "obama2.jpg"
        deadline = time.monotonic() + 30
        while True:  # a sighting is indexed when its track ends (Obama leaves the picture at 3 s)
            page.get_by_label("Photo of the person").set_input_files(str(photo))
            button = page.get_by_role("button", name="Play the clip on lobby")
            try:
                button.first.wait_for(timeout=3000)
                break
            except PlaywrightTimeout:
                assert time.monotonic() < deadline, "no sighting of obama on the stream"
        button.first.click()
        played = page.evaluate(
            """async () => { const v = document.querySelector('video[aria-label^="Clip of the sighting"]');
                const tick = () => new Promise((r) => setTimeout(r, 100));
                for (let i = 0; i < 50 && v.currentTime < 0.3; i++) await tick();
                return { t: v.currentTime, w: v.videoWidth }; }"""
        )
        assert played["t"] >= 0.3 and played["w"] == 480, played
        assert w.errors == [] and w.foreign() == []
    finally:
        w.page.context.close()


def check_recordings(browser: Browser, app: SecureApp) -> None:
    """Fragments with faces are marked with who was seen; an exported clip downloads as MP4."""
    w = watch(browser, app.url)
    try:
        w.sign_in(token(app, Role.VIEWER))
        page = w.page
        page.get_by_role("link", name="Recordings").click()
        marked = page.locator(".timeline .segment.faces").first
        marked.wait_for()
        label = marked.get_attribute("aria-label") or ""
        assert ", faces: " in label and any(n in label for n in ENROLLED), label
        assert page.get_by_role("button", name="Anonymize this clip").count() == 0  # viewer: no writes
        page.get_by_role("button", name="Export clip").click()
        link = page.get_by_role("link", name="Download the clip")
        link.wait_for()
        got = page.evaluate(
            """async (href) => { const r = await fetch(href); const b = await r.arrayBuffer();
                return { status: r.status, type: r.headers.get('content-type'), size: b.byteLength,
                         ftyp: String.fromCharCode(...new Uint8Array(b.slice(4, 8))) }; }""",
            link.get_attribute("href"),
        )
        assert got["status"] == 200 and got["type"] == "video/mp4" and got["ftyp"] == "ftyp", got
        assert got["size"] > 10_000
        assert w.errors == [] and w.foreign() == []
    finally:
        w.page.context.close()


def test_keyboard_navigation(ui: Watched, app: SecureApp) -> None:
    page = ui.page
    page.goto(app.url + "/")
    field = page.get_by_label("API token")
    field.wait_for()
    assert page.evaluate("document.activeElement.name") == "token"  # the sign-in field has the focus
    page.keyboard.type(token(app, Role.VIEWER))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Live", level=1).wait_for()
    page.wait_for_function("document.activeElement.id === 'main'")  # focus moves to the page's content
    # from the top of the header: Tab walks the navigation links in order
    page.locator(".brand").click()  # sets the sequential focus starting point (the name is not focusable)
    names = []
    for _ in PAGES:
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.textContent"))
    assert names == [name for _, name in PAGES]
    page.keyboard.press("Shift+Tab")  # back to Events, and open it with the keyboard
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Events", level=1).wait_for()
    assert page.get_by_role("link", name="Events").get_attribute("aria-current") == "page"
    # the skip link comes before the navigation and takes the focus to the content
    page.locator(".brand").click()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert ui.errors == [] and ui.foreign() == []
