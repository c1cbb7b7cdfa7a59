"""The storage capability on SQLite and on the real PostgreSQL server: byte-order listing, overwrite,
multipart, bucket life cycle."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from videolens.backends.blobs.filesystem import FilesystemBlobStore
from videolens.backends.metadata.database import Database
from videolens.runtime.settings import Settings
from videolens.services.storage.errors import BucketNotEmptyError, NoSuchBucketError, NoSuchKeyError
from videolens.services.storage.multipart import MIN_PART_SIZE
from videolens.services.storage.service import StorageService


@pytest.fixture
def storage(any_db_settings: Settings) -> Iterator[StorageService]:
    db = Database(any_db_settings.database_url_resolved)
    db.migrate()
    yield StorageService(any_db_settings, db, FilesystemBlobStore(any_db_settings.blob_dir))
    db.dispose()


def test_listing_is_in_byte_order_with_prefixes_and_tokens(storage: StorageService) -> None:
    storage.create_bucket("media")
    keys = ["B", "a", "a/b", "a/c/d", "a-b", "Z", "é", "a/c/e", "_x", "~y"]
    for key in keys:
        storage.put_object_bytes("media", key, key.encode())
    everything = storage.list_objects("media")
    assert [o.key for o in everything.objects] == sorted(keys, key=lambda k: k.encode())
    collected: list[str] = []
    token = None
    while True:
        page = storage.list_objects("media", delimiter="/", max_keys=2, continuation_token=token)
        collected += [o.key for o in page.objects] + page.common_prefixes
        token = page.next_token
        if not page.is_truncated:
            break
    assert sorted(collected) == sorted(["B", "a", "a-b", "a/", "Z", "é", "_x", "~y"])
    nested = storage.list_objects("media", prefix="a/", delimiter="/")
    assert ([o.key for o in nested.objects], nested.common_prefixes) == (["a/b"], ["a/c/"])


def test_overwrite_multipart_and_bucket_life_cycle(storage: StorageService) -> None:
    storage.create_bucket("cycle")
    first = storage.put_object_bytes("cycle", "k", b"one", "text/plain")
    second = storage.put_object_bytes("cycle", "k", b"two!", "text/plain")
    assert first.etag != second.etag
    info, chunks = storage.open_object("cycle", "k")
    assert (b"".join(chunks), info.size) == (b"two!", 4)
    part1, part2 = os.urandom(MIN_PART_SIZE), b"tail"
    up = storage.create_multipart_upload("cycle", "mp", "application/octet-stream", {"a": "1"})
    p1 = storage.upload_part("cycle", "mp", up.upload_id, 1, [part1[:100], part1[100:]])
    p2 = storage.upload_part("cycle", "mp", up.upload_id, 2, [part2])
    done = storage.complete_multipart_upload("cycle", "mp", up.upload_id, [(1, p1.etag), (2, p2.etag)])
    md5s = hashlib.md5(part1).digest() + hashlib.md5(part2).digest()
    assert done.etag == f'"{hashlib.md5(md5s).hexdigest()}-2"' and done.metadata == {"a": "1"}
    _, chunks = storage.open_object("cycle", "mp", start=MIN_PART_SIZE - 2)
    assert b"".join(chunks) == part1[-2:] + part2
    with pytest.raises(BucketNotEmptyError):
        storage.delete_bucket("cycle")
    storage.delete_object("cycle", "k")
    storage.delete_object("cycle", "mp")
    with pytest.raises(NoSuchKeyError):
        storage.head_object("cycle", "k")
    storage.create_multipart_upload("cycle", "left-over")  # pending uploads go with the bucket
    storage.delete_bucket("cycle")
    with pytest.raises(NoSuchBucketError):
        storage.head_bucket("cycle")
    assert storage.list_buckets() == []
