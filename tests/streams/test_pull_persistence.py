"""Attached pull sources live in the metadata store: they survive restarts, move between servers by lease."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import RunningServer, free_port, make_settings
from tests.streams.conftest import WaitUntil
from tests.streams.test_rtsp_pull import Camera
from videolens.backends.metadata.tables.streams import StreamPullSourceRow
from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.services.errors import NotFoundError
from videolens.vision.models import ModelRegistry

#: short leases keep take-overs quick: renewals every 0.5 s, scans every 0.75 s
LEASE_S = 1.5


@pytest.fixture
def camera() -> Iterator[Camera]:
    cam = Camera(free_port())
    cam.start()
    yield cam
    cam.kill()


def _server(data_dir: Path, models: ModelRegistry) -> RunningServer:
    settings = make_settings(data_dir, port=free_port(), stream_pull_lease_seconds=LEASE_S)
    return RunningServer(Container(settings, models=models)).start()


def _shutdown(server: RunningServer) -> None:
    server.stop()  # the lifespan stops the pulls and releases their leases
    server.container.close()


def _fragments(container: Container, stream: str) -> list[str]:
    """Session id of every stored fragment of the stream, oldest first."""
    stream_id = container.streams.catalog.row_id(stream)[0]
    return [f.session_id for f in container.streams.index.after_seq(stream_id, -1, 10_000)]


def test_pull_survives_restart_and_moves_between_servers(
    tmp_path: Path, models: ModelRegistry, camera: Camera, wait_until: WaitUntil
) -> None:
    data = tmp_path / "data"
    servers: list[RunningServer] = []
    try:
        first = _server(data, models)
        servers.append(first)
        assert httpx.post(f"{first.url}/v1/streams", json={"name": "cam"}).status_code == 201
        attached = httpx.put(f"{first.url}/v1/streams/cam/pull", json={"url": camera.url})
        assert attached.status_code == 200
        assert attached.json()["owner"] == first.container.streams.pulls.owner
        wait_until(lambda: len(_fragments(first.container, "cam")) >= 2, timeout=30)

        # restart: a new process on the same data dir resumes the pull without re-attaching
        _shutdown(servers.pop())
        before = _fragments(first.container, "cam")
        second = _server(data, models)
        servers.append(second)
        status = httpx.get(f"{second.url}/v1/streams/cam/pull").json()
        assert status["url"] == camera.url and status["listen"] is False
        assert status["owner"] == second.container.streams.pulls.owner
        wait_until(lambda: len(_fragments(second.container, "cam")) >= len(before) + 2, timeout=30)
        resumed = _fragments(second.container, "cam")
        assert resumed[: len(before)] == before
        assert set(resumed[len(before) :]).isdisjoint(before)  # new connection, same stream

        # scale-out: a third process on the same store does not pull while the second's lease is live
        third = _server(data, models)
        servers.append(third)
        mark = len(_fragments(third.container, "cam"))
        time.sleep(3 * LEASE_S)  # two lease periods and several scans of the third
        status = httpx.get(f"{third.url}/v1/streams/cam/pull").json()
        assert status["state"] == "remote" and status["owner"] == second.container.streams.pulls.owner
        assert third.container.streams.pulls.scan() == 0
        assert len(_fragments(third.container, "cam")) >= mark + 2
        assert len(set(_fragments(third.container, "cam")[mark:])) == 1  # one puller, one connection

        # the second stops: the third takes the pull over
        _shutdown(servers.pop(0))
        owner = third.container.streams.pulls.owner

        def taken_over() -> bool:
            doc = httpx.get(f"{third.url}/v1/streams/cam/pull").json()
            return bool(doc["state"] == "connected" and doc["owner"] == owner)

        wait_until(taken_over, timeout=20)
        mark = len(_fragments(third.container, "cam"))
        wait_until(lambda: len(_fragments(third.container, "cam")) >= mark + 1, timeout=30)

        # detaching stops it for good
        assert httpx.delete(f"{third.url}/v1/streams/cam/pull").status_code == 204
        assert httpx.get(f"{third.url}/v1/streams/cam/pull").status_code == 404
        stopped = len(_fragments(third.container, "cam"))
        time.sleep(1.5)
        assert len(_fragments(third.container, "cam")) == stopped
        assert third.container.streams.pulls.list() == []
    finally:
        for server in servers:
            _shutdown(server)


def test_leases_between_processes_on_one_store(
    any_db_settings: Settings, models: ModelRegistry, camera: Camera, wait_until: WaitUntil
) -> None:
    settings = any_db_settings.model_copy(update={"stream_pull_lease_seconds": LEASE_S})
    a = Container(settings, models=models)
    b = Container(settings, models=models)
    try:
        a.streams.create_stream("cam")
        mine = a.streams.pulls.add("cam", camera.url)
        assert mine.owner == a.streams.pulls.owner

        # b sees the attached source, held by a, and leaves it alone while a renews
        b.streams.pulls.start()
        time.sleep(2 * LEASE_S)
        seen = b.streams.pulls.get("cam")
        assert (seen.url, seen.state, seen.owner) == (camera.url, "remote", a.streams.pulls.owner)
        assert b.streams.pulls.scan() == 0
        wait_until(lambda: len(_fragments(a, "cam")) >= 2, timeout=30)

        # a stops cleanly (lease released): b takes over at its next scan
        a.streams.pulls.stop()
        assert mine.state == "stopped"
        wait_until(lambda: b.streams.pulls.get("cam").state == "connected", timeout=10)
        taken = b.streams.pulls.get("cam")
        assert taken.owner == b.streams.pulls.owner
        mark = len(_fragments(b, "cam"))
        wait_until(lambda: len(_fragments(b, "cam")) >= mark + 1, timeout=30)

        # a process that died holding a lease: nobody pulls until the lease expires, then b does
        arn = a.streams.create_stream("cam2").arn
        stream_id = a.streams.catalog.row_id("cam2")[0]
        with a.db.session() as s:
            s.execute(
                sa.insert(StreamPullSourceRow).values(
                    stream_id=stream_id,
                    url=camera.url,
                    listen=False,
                    options={},
                    created_at=time.time(),
                    owner="crashed-host:1",
                    lease_token=1,
                    lease_expires_at=time.time() + 2 * LEASE_S,
                )
            )
        assert b.streams.pulls.scan() == 0
        assert b.streams.pulls.get("cam2").owner == "crashed-host:1"
        wait_until(lambda: b.streams.pulls.get("cam2").state == "connected", timeout=10)
        orphan = b.streams.pulls.get("cam2")
        assert [p.stream for p in a.streams.pulls.list()] == ["cam", "cam2"]

        # detached by another process: b's pull stops at its next renewal
        a.streams.pulls.remove("cam")
        wait_until(lambda: taken.state == "stopped", timeout=5)
        with pytest.raises(NotFoundError):
            b.streams.pulls.get("cam")

        # deleting the stream deletes its source (ON DELETE CASCADE); b's pull stops the same way
        a.streams.delete_stream(arn)
        wait_until(lambda: orphan.state == "stopped", timeout=5)
        assert b.streams.pulls.list() == []
        with b.db.session() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(StreamPullSourceRow)) == 0
    finally:
        b.close()
        a.close()
