"""PutMedia signed with SigV4 (as the KVS producer SDKs sign it) through the AWS dispatcher, secure mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.producer import PutMediaError, chunks_of, put_media
from videolens.vision.models import ModelRegistry


@pytest.fixture
def secure_server(tmp_path: Path, models: ModelRegistry) -> Iterator[RunningServer]:
    container = Container(
        make_settings(tmp_path / "data", port=free_port(), auth_mode="secure"), models=models
    )
    server = RunningServer(container).start()
    yield server
    server.stop()
    container.close()


def test_signed_put_media(secure_server: RunningServer, hamilton_mkv: bytes) -> None:
    streams = secure_server.container.streams
    streams.create_stream("signed", retention_hours=1)
    key = secure_server.container.keys.create("camera")
    good = (key.access_key_id, key.secret_access_key)
    result = put_media(secure_server.url, chunks_of(hamilton_mkv), stream_name="signed", credentials=good)
    assert len(result.events("PERSISTED")) == 6

    with pytest.raises(PutMediaError) as err:
        put_media(
            secure_server.url,
            chunks_of(hamilton_mkv),
            stream_name="signed",
            credentials=(key.access_key_id, "not-the-secret-at-all"),
        )
    assert err.value.status == 403
    assert len(streams.list_fragments(name="signed")[0]) == 6
