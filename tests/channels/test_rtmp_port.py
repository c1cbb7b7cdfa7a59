"""The channels RTMP door: a taken port is logged and leaves the server up; workers never open it."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from tests.conftest import make_settings
from videolens.container import Container
from videolens.vision.models import ModelRegistry


def test_a_taken_rtmp_port_is_logged_and_the_rest_keeps_running(
    tmp_path: Path, models: ModelRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        container = Container(make_settings(tmp_path / "data", channels_rtmp_port=port), models=models)
        try:
            with caplog.at_level(logging.ERROR, logger="videolens.services.channels"):
                container.start_ingest()
            assert f"cannot listen for RTMP pushes on 127.0.0.1:{port}" in caplog.text
            # the channel API still answers: a channel can be described, listed, created
            assert container.channels.list_channels() == []
        finally:
            container.close()


def test_worker_processes_do_not_open_the_rtmp_door(tmp_path: Path, models: ModelRegistry) -> None:
    container = Container(make_settings(tmp_path / "data"), models=models)
    try:
        container.start_background()  # what `videolens worker` / `jobs worker` start
        assert container.channels not in container.background
        assert container.channels.doors.rtmp._sock is None
        assert container.channels.doors.rtsp._sock is None
    finally:
        container.close()
