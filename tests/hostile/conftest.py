"""Fixtures of the hostile-input tests: a real `videolens serve` process (so its memory can be
measured alone and a crash would show), a sampler of its resident memory, and bad media makers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port

VENV_BIN = Path(sys.executable).parent


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]
    data_dir: Path
    log: Path

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            return False
        try:
            return httpx.get(self.url + "/healthz", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False

    def rss(self) -> int:
        """Resident memory of the server and its children (ffmpeg, workers) in bytes."""
        procs = [self.process, *self.process.children(recursive=True)]
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(data_dir: Path, *, wrap: list[str] | None = None, **env: str) -> ServerProcess:
    """`videolens serve` on a free loopback port; `wrap` prefixes the command (e.g. unshare)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"server-{port}.log"
    environ = {
        **os.environ,
        "VIDEOLENS_DATA_DIR": str(data_dir),
        "VIDEOLENS_HOST": "127.0.0.1",
        "VIDEOLENS_PORT": str(port),
        "VIDEOLENS_AUTH_MODE": "dev",
        "VIDEOLENS_LOG_JSON": "false",
        "VIDEOLENS_LOG_LEVEL": "WARNING",
        **env,
    }
    cmd = [*(wrap or []), str(VENV_BIN / "videolens"), "serve"]
    proc = subprocess.Popen(cmd, env=environ, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    server = ServerProcess(f"http://127.0.0.1:{port}", proc, data_dir, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("server did not start")


class RssSampler:
    """Samples a server's resident memory every 20 ms on a thread; `peak` is the highest seen."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak = server.rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.server.rss())
            except psutil.Error:
                return
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("hostile") / "data",
        VIDEOLENS_MAX_UPLOAD_BYTES=str(64 * 1024 * 1024),
        VIDEOLENS_JOB_WORKERS="1",
    )
    yield server
    server.stop()
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log or "unhandled error" not in log, log[-4000:]
