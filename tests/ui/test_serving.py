"""What the server gives the UI: its files (public, same-origin CSP), and the SSE endpoints it follows."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.auth.conftest import PROBLEM, SecureApp
from videolens.services.auth.models import Role


def events(response: httpx.Response, until: str, limit: int = 200) -> list[tuple[str, dict]]:
    """Read SSE messages (event, parsed data) until one whose data contains `until`."""
    out: list[tuple[str, dict]] = []
    event = "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            out.append((event, json.loads(line[6:])))
            if until in line or len(out) >= limit:
                return out
    return out


def test_files_are_public_and_same_origin_only(app: SecureApp) -> None:
    page = httpx.get(app.url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'src="/ui/js/app.js"' in page.text and "http" not in page.text.split("<body>")[0].replace(
        'name="viewport"', ""
    )
    module = httpx.get(app.url + "/ui/js/overlay.js")
    assert module.status_code == 200 and module.headers["content-type"].startswith("text/javascript")
    assert httpx.get(app.url + "/ui/vendor/hls.min.js").status_code == 200
    assert httpx.get(app.url + "/ui/config.json").json() == {"auth_mode": "secure"}
    # a path that names no file is not served, and tells a stranger nothing
    assert httpx.get(app.url + "/ui/js/missing.js").status_code == 401
    # but the data behind the pages needs a token
    assert httpx.get(app.url + "/v1/updates").status_code == 401


def test_updates_stream_job_progress(app: SecureApp, hamilton_clip: Path) -> None:
    viewer = {"Authorization": f"Bearer {app.tokens[Role.VIEWER]}"}
    operator = {"Authorization": f"Bearer {app.tokens[Role.OPERATOR]}"}
    with httpx.Client(base_url=app.url, timeout=httpx.Timeout(60, read=60)) as client:
        bad = client.get("/v1/updates?kinds=job,weather", headers=viewer)
        assert bad.status_code == 400 and bad.headers["content-type"] == PROBLEM
        assert "weather" in bad.json()["detail"]
        ghost = client.get("/v1/processors/ghost/results", headers=viewer)
        assert ghost.status_code == 404 and ghost.headers["content-type"] == PROBLEM
        with client.stream("GET", "/v1/updates?kinds=job", headers=viewer) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            job = client.post(
                "/v1/anonymize/jobs",
                data={"mode": "blur"},
                files={"file": (hamilton_clip.name, hamilton_clip.read_bytes(), "video/mp4")},
                headers=operator,
            ).json()
            seen = events(stream, "SUCCEEDED")
    mine = [d for e, d in seen if e == "job" and d["job_id"] == job["job_id"]]
    assert mine and mine[-1]["status"] == "SUCCEEDED" and mine[-1]["progress"] == 100.0
    progress = [d["progress"] for d in mine]
    assert progress == sorted(progress)  # one event per change, in order
    assert len(set(map(json.dumps, mine))) == len(mine)  # never the same state twice
