"""Screenshots of every UI page for the README: `.venv/bin/python scripts/ui_screenshots.py`.

Starts a secure-mode server on a temporary data folder, fills it like tests/ui/test_pages.py does
(enrolled people, a live stream fed by ffmpeg with a face-search processor, an anonymize job) and
writes docs/images/ui-<page>-<desktop|phone>.png with Debian's Chromium (nothing is downloaded).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the scene builder lives with the tests that check it

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.auth.conftest import start_secure  # noqa: E402
from tests.conftest import _media_dir  # noqa: E402
from tests.ui.conftest import CHROMIUM  # noqa: E402
from tests.ui.screenshots import VIEWPORTS, populate, take_all  # noqa: E402
from videolens.runtime.settings import Settings  # noqa: E402
from videolens.vision.models import ModelRegistry  # noqa: E402

IMAGES = REPO / "docs" / "images"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = start_secure(Path(tmp), ModelRegistry(Settings()))
        camera = populate(app, _media_dir(), Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                for viewport in VIEWPORTS:
                    report = take_all(browser, app, IMAGES, viewport)
                    for path in report["files"]:
                        print(f"{path.relative_to(REPO)}  {path.stat().st_size // 1024} KiB")
                    if report["errors"]:
                        print("console errors:", report["errors"], file=sys.stderr)
                browser.close()
        finally:
            camera.terminate()
            camera.wait(10)
            app.server.stop()
            app.container.close()


if __name__ == "__main__":
    main()
