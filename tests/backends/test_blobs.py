"""Blob stores, one contract for both (files, S3 on a real SeaweedFS) + S3 multipart, ranges, retries."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from videolens.backends.blobs.base import BlobNotFoundError, BlobStore, InvalidBlobKeyError
from videolens.backends.blobs.factory import open_blob_store
from videolens.backends.blobs.filesystem import FilesystemBlobStore
from videolens.backends.blobs.s3 import BlobStoreUnavailableError, S3BlobStore
from videolens.cli.engines import SeaweedFS, free_port

MiB = 1024 * 1024


def _s3(weed: SeaweedFS, monkeypatch: pytest.MonkeyPatch, **kw: object) -> S3BlobStore:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", weed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", weed.secret_key)
    bucket = f"vl-{uuid.uuid4().hex[:12]}"
    return S3BlobStore(f"s3://{bucket}/some/prefix", endpoint_url=weed.endpoint_url, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=["files", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlobStore]:
    if request.param == "files":
        yield FilesystemBlobStore(tmp_path / "blobs")
    else:
        yield _s3(request.getfixturevalue("seaweedfs"), monkeypatch)


def test_write_read_range_list_delete(store: BlobStore) -> None:
    data = bytes(range(256)) * 1000
    with store.writer("a/b/c.bin") as w:
        w.write(data[:1000])
        w.write(data[1000:])
    info = store.put_bytes("a/x.txt", b"hello")
    assert info.size == 5 and info.md5_hex == hashlib.md5(b"hello").hexdigest()
    store.put_bytes("b/y", b"")
    assert store.size("a/b/c.bin") == len(data)
    assert store.size("b/y") == 0
    assert b"".join(store.read_range("a/b/c.bin", 10, 5000)) == data[10:5000]
    # a range past the end stops at the end, like a file
    assert b"".join(store.read_range("a/x.txt", 2, 100)) == b"llo"
    with store.open("a/b/c.bin") as f:
        assert f.read() == data
    with store.open("a/b/c.bin") as f:  # seekable: PyAV and the MP4 reader jump around
        f.seek(-10, io.SEEK_END)
        assert f.read() == data[-10:]
        f.seek(300)
        assert f.read(4) == data[300:304] and f.tell() == 304
    assert list(store.list("a/")) == ["a/b/c.bin", "a/x.txt"]
    assert list(store.list()) == ["a/b/c.bin", "a/x.txt", "b/y"]
    store.delete("a/b/c.bin")
    store.delete("a/b/c.bin")  # deleting twice is fine
    assert not store.exists("a/b/c.bin") and store.exists("a/x.txt")
    with pytest.raises(BlobNotFoundError):
        store.open("a/b/c.bin")
    with pytest.raises(BlobNotFoundError):
        store.size("nope")
    with pytest.raises(BlobNotFoundError):
        b"".join(store.read_range("nope", 0, 10))


def test_failed_write_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(RuntimeError), store.writer("k") as w:
        w.write(b"partial")
        raise RuntimeError("client went away")
    assert not store.exists("k")
    assert list(store.list()) == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "a/../b", "", "a\x00b", "a/.."])
def test_keys_cannot_escape(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidBlobKeyError):
        store.put_bytes(key, b"x")


def test_s3_large_blob_is_multipart_and_streamed(
    seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _s3(seaweedfs, monkeypatch, part_bytes=5 * MiB)
    block = hashlib.sha256(b"seed").digest() * (MiB // 32)  # 1 MiB, not compressible into nothing
    md5 = hashlib.md5()
    tracemalloc.start()
    with store.writer("rec/long.mkv") as w:
        for i in range(41):
            chunk = bytes([i]) + block[1:]
            md5.update(chunk)
            w.write(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 24 * MiB  # a part buffered + the part in flight and its copies, not 41 MiB
    assert store.size("rec/long.mkv") == 41 * MiB
    client = store.client
    head = client.head_object(Bucket=store.bucket, Key="some/prefix/rec/long.mkv")
    assert head["ETag"].strip('"').endswith("-9")  # 8 parts of 5 MiB + the 1 MiB tail
    got = hashlib.md5()
    tracemalloc.start()
    for chunk in store.read_range("rec/long.mkv", 0, 41 * MiB):
        got.update(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert got.hexdigest() == md5.hexdigest()
    assert peak < 8 * MiB
    # a range across a part boundary
    part = b"".join(store.read_range("rec/long.mkv", 5 * MiB - 3, 5 * MiB + 3))
    assert part == block[-3:] + bytes([5]) + block[1:3]


def test_s3_aborted_multipart_leaves_no_upload(seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _s3(seaweedfs, monkeypatch, part_bytes=5 * MiB)
    with pytest.raises(RuntimeError), store.writer("big") as w:
        w.write(b"x" * (6 * MiB))  # one part uploaded
        raise RuntimeError("producer vanished")
    assert not store.exists("big")
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    assert uploads == []


def test_s3_signatures_are_verified(seaweedfs: SeaweedFS) -> None:
    kwargs = seaweedfs.client_kwargs() | {"aws_secret_access_key": "not-the-secret"}
    with pytest.raises(ClientError) as err:
        boto3.client("s3", **kwargs).list_buckets()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_s3_unreachable_store_is_retried_then_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDX")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    dead = f"http://127.0.0.1:{free_port()}"
    store = S3BlobStore("s3://bkt/p", endpoint_url=dead, max_attempts=3, timeout_s=1, create_bucket=False)
    attempts: list[str] = []
    store.client.meta.events.register("before-send.s3.PutObject", lambda request, **_: attempts.append("x"))
    with pytest.raises(BlobStoreUnavailableError):
        store.put_bytes("k", b"data")
    assert len(attempts) == 3  # botocore's standard mode: back-off between the attempts


def test_factory_selects_store_by_url(
    tmp_path: Path, seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(open_blob_store("embedded", tmp_path / "a"), FilesystemBlobStore)
    fs = open_blob_store(f"file://{tmp_path / 'b'}", tmp_path / "a")
    assert isinstance(fs, FilesystemBlobStore) and fs.root == (tmp_path / "b").resolve()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs.secret_key)
    s3 = open_blob_store("s3://factory-bkt/x", tmp_path, endpoint_url=seaweedfs.endpoint_url)
    assert isinstance(s3, S3BlobStore) and (s3.bucket, s3.prefix) == ("factory-bkt", "x/")
    s3.put_bytes("k", b"v")
    assert s3.local_path("k") is None
    with pytest.raises(ValueError):
        open_blob_store("ftp://x", tmp_path)
