"""Every page at 1280x800 and 390x844 in real Chromium: loads without console errors or foreign requests,
every control has an accessible name, nothing overflows sideways; keyboard navigation works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser

from tests.auth.conftest import SecureApp
from tests.ui.conftest import Watched, token
from tests.ui.screenshots import PAGES, VIEWPORTS, populate, take_all
from videolens.services.auth.models import Role


@pytest.fixture
def scene(app: SecureApp, media_dir: Path, tmp_path: Path) -> Iterator[SecureApp]:
    camera = populate(app, media_dir, tmp_path)
    yield app
    camera.terminate()
    camera.wait(10)


def test_every_page_at_both_sizes(browser: Browser, scene: SecureApp, tmp_path: Path) -> None:
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


def test_keyboard_navigation(ui: Watched, app: SecureApp) -> None:
    page = ui.page
    page.goto(app.url + "/")
    field = page.get_by_label("API token")
    field.wait_for()
    assert page.evaluate("document.activeElement.name") == "token"  # the sign-in field has the focus
    page.keyboard.type(token(app, Role.VIEWER))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Live", level=1).wait_for()
    # Tab from the top: the skip link first, then the navigation links in order
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    names = []
    for _ in PAGES:
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.textContent"))
    assert names == [name for _, name in PAGES]
    page.keyboard.press("Shift+Tab")  # back to Events, and open it with the keyboard
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Events", level=1).wait_for()
    assert page.get_by_role("link", name="Events").get_attribute("aria-current") == "page"
    assert ui.errors == [] and ui.foreign() == []
