"""Every page of the UI with real content, at 1280x800 and 390x844: used by the tests and by
scripts/ui_screenshots.py (which writes docs/images/ui-<page>-<viewport>.png)."""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import Browser

from tests.auth.conftest import SecureApp
from tests.jobs.synthetic_search import ENROLLED, make_search_video
from tests.ui.conftest import DESKTOP, PHONE, Watched, watch
from tests.ui.test_live import producer
from videolens.services.auth.models import Role

#: (hash route, navigation link = page heading)
PAGES = [
    ("live", "Live"),
    ("recordings", "Recordings"),
    ("people", "People"),
    ("sightings", "Sightings"),
    ("jobs", "Jobs"),
    ("processors", "Processors & analyzers"),
    ("events", "Events"),
    ("settings", "Settings"),
]
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

#: controls without an accessible name (aria-label, aria-labelledby, a <label>, or their text)
UNNAMED_CONTROLS = """() => [...document.querySelectorAll(
    'button, a[href], input, select, textarea, [role=button]')]
  .filter((el) => !(el.closest('[hidden]') || el.type === 'hidden'))
  .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.labels && el.labels.length) || el.textContent.trim() || el.closest('[role=button][aria-label]')))
  .map((el) => el.outerHTML.slice(0, 120))"""


def populate(app: SecureApp, media_dir: Path, work: Path) -> subprocess.Popen[bytes]:
    """People, a live stream with a running face-search processor fed by ffmpeg, a finished anonymize job."""
    op = {"Authorization": f"Bearer {app.tokens[Role.OPERATOR]}"}
    api = httpx.Client(base_url=app.url + "/v1", headers=op, timeout=60)
    api.post("/collections", json={"collection_id": "people"}).raise_for_status()
    for person, photos in ENROLLED.items():
        for photo in photos:
            api.post(
                f"/collections/people/faces?external_image_id={person}&max_faces=1",
                content=(media_dir / "faces" / person / photo).read_bytes(),
                headers={"Content-Type": "image/jpeg"},
            ).raise_for_status()
    api.post("/streams", json={"name": "lobby"}).raise_for_status()
    data = api.post("/datastreams", json={"name": "matches", "shard_count": 1}).json()
    video_arn = api.get("/streams/lobby").json()["arn"]
    api.post(
        "/processors",
        json={
            "name": "door",
            "input": {"KinesisVideoStream": {"Arn": video_arn}},
            "output": {"KinesisDataStream": {"Arn": data["arn"]}},
            "settings": {"FaceSearch": {"CollectionId": "people", "FaceMatchThreshold": 85}},
            "lag_policy": "live",
        },
    ).raise_for_status()
    api.post("/processors/door/start").raise_for_status()
    api.post("/topics", json={"name": "job-done"}).raise_for_status()
    clip = media_dir / "video" / "short_hamilton_clip.mp4"
    job = api.post(
        "/anonymize/jobs", data={"mode": "blur"}, files={"file": (clip.name, clip.read_bytes(), "video/mp4")}
    ).json()
    video = make_search_video(media_dir, work / "search.mp4")
    camera = producer(app.url, video, "lobby", app.tokens[Role.OPERATOR], time.time(), loops=-1)
    deadline = time.monotonic() + 120
    while api.get(f"/anonymize/jobs/{job['job_id']}").json()["status"] != "SUCCEEDED" or (
        len(api.get("/streams/lobby/fragments").json()["fragments"]) < 3
    ):
        assert time.monotonic() < deadline, "the screenshot scene did not come up"
        time.sleep(0.3)
    return camera


def small_png(png: bytes) -> bytes:
    """A 128-colour palette PNG: a few tens of KiB per screenshot instead of hundreds."""
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def take_all(browser: Browser, app: SecureApp, out_dir: Path, viewport: str) -> dict[str, Any]:
    """Screenshots of every page at one viewport; returns what the tests check (errors, overflow, names)."""
    w: Watched = watch(browser, app.url, VIEWPORTS[viewport])
    report: dict[str, Any] = {"files": [], "unnamed": {}, "overflow": {}}
    try:
        w.sign_in(app.tokens[Role.ADMIN])
        page = w.page
        for route, name in PAGES:
            page.goto(f"{app.url}/#/{route}")
            page.get_by_role("heading", name=name, exact=True, level=1).wait_for()
            if route == "live":
                page.wait_for_function(
                    "() => /\\d%/.test((document.querySelector('.overlay-text') || {}).textContent || '')",
                    timeout=30_000,
                )
            # the page's SSE stream stays open, so "network idle" never comes: give its reads a moment
            page.wait_for_timeout(1000)
            report["unnamed"][route] = page.evaluate(UNNAMED_CONTROLS)
            report["overflow"][route] = page.evaluate(
                "() => document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
            )
            path = out_dir / f"ui-{route}-{viewport}.png"
            path.write_bytes(small_png(page.screenshot()))
            report["files"].append(path)
        report["errors"] = list(w.errors)
        report["foreign"] = w.foreign()
    finally:
        w.page.context.close()
    return report
