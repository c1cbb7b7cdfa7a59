"""Jobs page in real Chromium: upload a video, anonymize it, follow it live, play the result."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.auth.conftest import SecureApp
from tests.ui.conftest import Watched, token
from videolens.services.auth.models import Role


def test_upload_anonymize_and_play(ui: Watched, app: SecureApp, hamilton_clip: Path) -> None:
    ui.sign_in(token(app, Role.OPERATOR))
    page = ui.page
    page.get_by_role("link", name="Jobs").click()
    page.get_by_label("Video file").set_input_files(str(hamilton_clip))
    page.get_by_label("Analysis").select_option("anonymize")
    page.get_by_label("Anonymize mode").select_option("pixelate")
    page.get_by_role("button", name="Upload and start").click()
    assert page.get_by_label("Upload progress").get_attribute("value") is not None
    row = page.locator("tr[data-job]").first
    row.wait_for()
    job_id = row.get_attribute("data-job")
    # the status arrives over /v1/updates (no reload, no polling from the page)
    row.locator(".status").get_by_text("SUCCEEDED").wait_for(timeout=120_000)
    page.locator(f'tr[data-job="{job_id}"]').get_by_role("button", name="Show results").click()
    result = page.get_by_label("Anonymized video")
    result.wait_for()
    page.get_by_label("Original video").wait_for()
    played = page.evaluate(
        """async () => {
            const v = document.querySelector('video.anonymized');
            await v.play();
            await new Promise((r) => setTimeout(r, 1500));
            return { t: v.currentTime, w: v.videoWidth, h: v.videoHeight };
        }"""
    )
    assert played["t"] > 0.5 and (played["w"], played["h"]) == (640, 360), played
    job = httpx.get(
        f"{app.url}/v1/anonymize/jobs/{job_id}",
        headers={"Authorization": f"Bearer {token(app, Role.VIEWER)}"},
    ).json()
    assert job["status"] == "SUCCEEDED" and job["input"] == hamilton_clip.name
    assert ui.errors == [] and ui.foreign() == []


def test_face_detection_results_on_a_timeline(ui: Watched, app: SecureApp, hamilton_clip: Path) -> None:
    ui.sign_in(token(app, Role.OPERATOR))
    page = ui.page
    page.get_by_role("link", name="Jobs").click()
    page.get_by_label("Video file").set_input_files(str(hamilton_clip))
    page.get_by_label("Analysis").select_option("face-detection")
    page.get_by_role("button", name="Upload and start").click()
    row = page.locator("tr[data-job]").first
    row.wait_for()
    job_id = row.get_attribute("data-job")
    row.locator(".status").get_by_text("SUCCEEDED").wait_for(timeout=120_000)
    page.locator(f'tr[data-job="{job_id}"]').get_by_role("button", name="Show results").click()
    viewer = {"Authorization": f"Bearer {token(app, Role.VIEWER)}"}
    items = httpx.get(f"{app.url}/v1/jobs/{job_id}/results?max_results=1000", headers=viewer).json()["items"]
    assert items, "the clip has faces"
    timeline = page.get_by_role("img", name=f"Timeline with {len(items)} faces")
    timeline.wait_for()
    assert timeline.locator(".mark").count() == len(items)
    # the object went into the UI's upload bucket through the public API
    objects = httpx.get(f"{app.url}/v1/buckets/ui-uploads/objects", headers=viewer).json()
    assert [o["key"].split("-", 1)[1] for o in objects["objects"]] == [hamilton_clip.name]
    assert ui.errors == [] and ui.foreign() == []
