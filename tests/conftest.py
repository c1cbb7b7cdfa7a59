"""Shared test fixtures: media location, settings on a temp data dir, containers, a real server."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.vision.models import ModelRegistry

REPO_ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get(
    "VIDEOLENS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _media_dir() -> Path:
    env = os.environ.get("VIDEOLENS_TEST_MEDIA")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "media"
    if not path.is_dir():
        raise RuntimeError(f"test media not found at {path}; set VIDEOLENS_TEST_MEDIA")
    return path


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return _media_dir()


@pytest.fixture(scope="session")
def faces_dir(media_dir: Path) -> Path:
    return media_dir / "faces"


@pytest.fixture(scope="session")
def hamilton_clip(media_dir: Path) -> Path:
    return media_dir / "video" / "short_hamilton_clip.mp4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    # servers of one test run side by side: each channels RTMP / RTSP door on a free port unless a test
    # names one
    overrides.setdefault("channels_rtmp_port", 0)
    overrides.setdefault("channels_rtsp_port", 0)
    return Settings(data_dir=data_dir, log_json=False, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", port=free_port())


@pytest.fixture(scope="session")
def models() -> ModelRegistry:
    """One set of loaded models for the whole test session."""
    return ModelRegistry(Settings())


@pytest.fixture
def container(settings: Settings, models: ModelRegistry) -> Iterator[Container]:
    c = Container(settings, models=models)
    yield c
    c.close()


class RunningServer:
    """A real uvicorn server in a thread, on a loopback port."""

    def __init__(self, container: Container) -> None:
        from videolens.api.app import create_app

        self.container = container
        self.port = container.settings.port
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(container), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def server(container: Container) -> Iterator[RunningServer]:
    srv = RunningServer(container).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the local server for this test session."""
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"videolens_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose metadata store is SQLite, then (second run) the real PostgreSQL server."""
    if request.param == "sqlite":
        return make_settings(tmp_path / "data", port=free_port())
    import sqlalchemy as sa

    pg_url: str = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:  # each test starts from an empty schema
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return make_settings(tmp_path / "data", port=free_port(), database_url=pg_url)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real SeaweedFS (master + volume + filer + S3, signatures checked) on loopback for the session."""
    from videolens.cli.engines import SeaweedFS

    weed = SeaweedFS(tmp_path_factory.mktemp("seaweedfs")).start()
    yield weed
    weed.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[object]:
    """An own redis-server on a free loopback port (the shared one at 6379 must never be restarted)."""
    from videolens.cli.engines import RedisServer

    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()
