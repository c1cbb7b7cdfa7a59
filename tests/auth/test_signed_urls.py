"""Signed media URLs in secure mode: hls.js plays one with no header; tampered, expired, revoked ones fail."""

from __future__ import annotations

import io
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.auth.conftest import PROBLEM, SecureApp, start_secure
from tests.streams.browser import Chromium
from tests.streams.test_hls_browser import HLS_JS, play, wait_for_playback
from videolens.producer import PutMediaError, chunks_of, put_media
from videolens.services.auth.models import Role
from videolens.services.streams.hls_sessions import HlsSession
from videolens.vision.models import ModelRegistry


@pytest.fixture
def streamed(tmp_path: Path, models: ModelRegistry, hamilton_mkv: bytes) -> Iterator[SecureApp]:
    app = start_secure(tmp_path, models)
    try:
        op = app.bearer(Role.OPERATOR)
        assert httpx.post(app.url + "/v1/streams", json={"name": "cam"}, headers=op).status_code == 201
        # PutMedia on the native door needs a credential too
        for headers, status in (({}, 401), (app.bearer(Role.VIEWER), 403)):
            with pytest.raises(PutMediaError) as refused:
                put_media(app.url, chunks_of(hamilton_mkv), stream_name="cam", extra_headers=headers)
            assert refused.value.status == status
        assert httpx.get(app.url + "/v1/streams/cam/fragments", headers=op).json()["fragments"] == []
        done = put_media(app.url, chunks_of(hamilton_mkv), stream_name="cam", extra_headers=op)
        assert done.events("PERSISTED") and not done.events("ERROR")
        yield app
    finally:
        app.server.stop()
        app.container.close()


def fragments(app: SecureApp) -> list[dict[str, Any]]:
    r = httpx.get(
        app.url + "/v1/streams/cam/fragments",
        params={"kind": "SERVER_TIMESTAMP"},
        headers=app.bearer(Role.VIEWER),
    )
    found: list[dict[str, Any]] = r.json()["fragments"]
    assert len(found) >= 5
    return found


def sign(app: SecureApp, path: str, token: str, expires_in: int = 300) -> httpx.Response:
    return httpx.post(
        app.url + "/v1/signed-urls",
        json={"path": path, "expires_in": expires_in},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_clip_url_needs_no_header(streamed: SecureApp) -> None:
    app = streamed
    frags = fragments(app)
    start, end = frags[0]["server_timestamp"] - 1, frags[-1]["server_timestamp"] + 10
    path = f"/v1/streams/cam/clip.mp4?start={start}&end={end}&kind=SERVER_TIMESTAMP"
    assert httpx.get(app.url + path).status_code == 401  # the plain URL is closed
    viewer = app.container.auth.create_token("player", Role.VIEWER)
    made = sign(app, path, viewer.token)
    assert made.status_code == 200, made.text
    url = made.json()["url"]
    assert url.startswith(app.url + "/v1/streams/cam/clip.mp4?") and viewer.token not in url
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["vl-credential"] == viewer.info.token_id
    clip = httpx.get(url)  # no Authorization header, as a <video src> fetches it
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(clip.content)) as mp4:
        assert sum(1 for _ in mp4.decode(video=0)) == 275

    # tampered: another range, another stream, a changed signature → 401 problem+json
    for bad in (
        url.replace(f"end={end}", f"end={end + 1}"),
        url.replace("/streams/cam/", "/streams/other/"),
        url[:-1] + ("0" if url[-1] != "0" else "1"),
    ):
        r = httpx.get(bad)
        assert r.status_code == 401 and r.headers["content-type"] == PROBLEM, bad
    # a signed URL is only for routes that take them, and never outlives its credential
    assert sign(app, "/v1/collections", viewer.token).status_code == 400
    assert sign(app, "http://evil.example/v1/streams/cam/clip.mp4", viewer.token).status_code == 400
    app.container.auth.tokens.revoke(viewer.info.token_id)
    assert httpx.get(url).status_code == 401


def test_clip_url_expires(streamed: SecureApp) -> None:
    app = streamed
    path = "/v1/streams/cam/clip.mp4?start=0&end=99999999999"
    url = sign(app, path, app.tokens[Role.VIEWER], expires_in=1).json()["url"]
    time.sleep(2.1)
    r = httpx.get(url)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    too_long = sign(app, path, app.tokens[Role.VIEWER], expires_in=10**6)
    assert too_long.status_code == 400


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    assert HLS_JS.is_file(), "hls.js missing: run `make web-deps`"
    browser = Chromium(tmp_path / "profile")
    yield browser
    browser.close()


def test_hls_plays_in_chromium_through_a_signed_url(
    streamed: SecureApp, chromium: Chromium, tmp_path: Path
) -> None:
    app = streamed
    frags = fragments(app)
    viewer = app.container.auth.create_token("tv", Role.VIEWER)
    session = httpx.post(
        app.url + "/v1/streams/cam/hls",
        json={
            "mode": "ON_DEMAND",
            "kind": "SERVER_TIMESTAMP",
            "start": frags[0]["server_timestamp"],
            "end": frags[-1]["server_timestamp"],
            "expires": 600,
        },
        headers={"Authorization": f"Bearer {viewer.token}"},
    )
    assert session.status_code == 200, session.text
    url = session.json()["url"]
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["SessionToken"]
    assert app.container.streams.tokens.read(token).issuer == viewer.info.token_id
    # the playlists hand the same signed token on to every segment URL
    media_uri = httpx.get(url).text.strip().splitlines()[-1]
    media = httpx.get(urllib.parse.urljoin(url, media_uri))
    segments = [line for line in media.text.splitlines() if line.startswith("getTSFragment.ts?")]
    assert len(segments) == len(frags) and all(f"SessionToken={token}" in s for s in segments)

    play(chromium, tmp_path, url)  # no header anywhere: hls.js fetches plain URLs
    first = wait_for_playback(chromium, 1.0)
    assert (first["w"], first["h"]) == (640, 360)
    later = wait_for_playback(chromium, first["t"] + 1.5)
    assert later["t"] > first["t"]

    # tampered and expired session tokens are refused (problem+json), and so is a revoked issuer's
    body, _, mac = token.partition(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    tampered = httpx.get(url.replace(token, forged))
    assert tampered.status_code in (401, 403) and tampered.headers["content-type"] == PROBLEM
    session_doc = app.container.streams.tokens.read(token)
    expired = app.container.streams.tokens.issue(
        HlsSession(**{**session_doc.__dict__, "expires": time.time() - 1})
    )
    late = httpx.get(url.replace(token, expired))
    assert late.status_code in (401, 403) and "expired" in late.json()["detail"]
    app.container.auth.tokens.revoke(viewer.info.token_id)
    revoked = httpx.get(url)
    assert revoked.status_code == 401 and revoked.headers["content-type"] == PROBLEM
