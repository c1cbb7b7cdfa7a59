"""Fixtures of the UI tests: a secure-mode server, real Chromium through Playwright, request/console logs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.auth.conftest import SecureApp, start_secure
from videolens.services.auth.models import Role
from videolens.vision.models import ModelRegistry

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium; Playwright never downloads a browser here
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--disable-gpu"],
    )
    yield b
    b.close()


@pytest.fixture
def app(tmp_path: Path, models: ModelRegistry) -> Iterator[SecureApp]:
    secure = start_secure(tmp_path, models)
    yield secure
    secure.server.stop()
    secure.container.close()


@dataclass
class Watched:
    """A page with everything it asked for and every console error it logged."""

    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        """Requests that left the server's origin (data: and blob: URLs stay in the page)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                out.append(url)
        return out

    def sign_in(self, token: str) -> None:
        self.page.goto(self.origin + "/")
        self.page.get_by_label("API token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("heading", name="Live").wait_for()


def watch(browser: Browser, origin: str, viewport: dict[str, int] = DESKTOP) -> Watched:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    watched = Watched(page, origin)
    page.on("request", lambda r: watched.requests.append(r.url))

    def console(message: Any) -> None:
        if message.type == "error":
            watched.errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    return watched


@pytest.fixture
def ui(browser: Browser, app: SecureApp) -> Iterator[Watched]:
    w = watch(browser, app.url)
    yield w
    w.page.context.close()


def token(app: SecureApp, role: Role) -> str:
    return app.tokens[role]
