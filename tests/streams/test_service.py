"""The streams service on both metadata backends: ingest, fragment index, retention, deletion."""

from __future__ import annotations

import time

import pytest

from videolens.backends.blobs.filesystem import FilesystemBlobStore
from videolens.backends.metadata.database import Database
from videolens.producer import chunks_of
from videolens.runtime.settings import Settings
from videolens.services.errors import AlreadyExistsError, NotFoundError
from videolens.services.streams.service import StreamsService


@pytest.fixture
def service(any_db_settings: Settings) -> StreamsService:
    any_db_settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(any_db_settings.database_url_resolved)
    db.migrate()
    return StreamsService(any_db_settings, db, FilesystemBlobStore(any_db_settings.blob_dir))


def ingest(service: StreamsService, name: str, data: bytes, start: float) -> list[str]:
    with service.ingest(name=name, producer_start=start) as session:
        acks = [a for chunk in chunks_of(data, 50_000) for a in session.feed(chunk)] + session.finish()
    return [a.fragment_number for a in acks if a.event == "PERSISTED" and a.fragment_number]


def test_index_retention_and_delete(service: StreamsService, hamilton_mkv: bytes) -> None:
    service.create_stream("door", retention_hours=1)
    with pytest.raises(AlreadyExistsError):
        service.create_stream("door")
    numbers = ingest(service, "door", hamilton_mkv, start=1_000_000.0)
    assert len(numbers) == 6
    rows, token = service.list_fragments(name="door", max_results=4)
    assert [r.fragment_number for r in rows] == numbers[:4] and token
    rest, token = service.list_fragments(name="door", max_results=4, next_token=token)
    assert [r.fragment_number for r in rest] == numbers[4:] and token is None
    window, _ = service.list_fragments(
        name="door", kind="PRODUCER_TIMESTAMP", start=1_000_002.0, end=1_000_005.0
    )
    assert [r.producer_ts for r in window] == [1_000_002.846, 1_000_004.848]
    assert [r.seq for r in rows + rest] == [0, 1, 2, 3, 4, 5]

    # retention: nothing is old yet; an hour later everything is
    assert service.sweep() == 0
    assert service.sweep(now=time.time() + 3601) == 6
    assert service.list_fragments(name="door")[0] == []
    stream_id, _ = service.catalog.row_id("door")
    assert not list(service.index.blobs.list(f"streams/{stream_id}/"))

    numbers = ingest(service, "door", hamilton_mkv, start=2_000_000.0)
    assert [r.seq for r in service.list_fragments(name="door")[0]] == [6, 7, 8, 9, 10, 11]
    service.delete_stream(service.describe_stream("door").arn)
    assert not list(service.index.blobs.list(f"streams/{stream_id}/"))
    with pytest.raises(NotFoundError):
        service.list_fragments(name="door")


def test_buffer_only_stream(service: StreamsService, hamilton_mkv: bytes) -> None:
    service.create_stream("live-only", retention_hours=0)
    with service.ingest(name="live-only") as session:
        acks = [a for chunk in chunks_of(hamilton_mkv) for a in session.feed(chunk)] + session.finish()
    # retention 0: received and readable live, never acknowledged as persisted
    assert [a.event for a in acks].count("RECEIVED") == 6
    assert "PERSISTED" not in [a.event for a in acks]
    assert service.sweep(now=time.time() + 301) == 6
