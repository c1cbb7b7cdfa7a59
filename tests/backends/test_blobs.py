"""Filesystem blob store: atomic writes, ranges, listing, key validation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from videolens.backends.blobs.base import BlobNotFoundError, InvalidBlobKeyError
from videolens.backends.blobs.filesystem import FilesystemBlobStore


def test_write_read_range_list_delete(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    data = bytes(range(256)) * 1000
    with store.writer("a/b/c.bin") as w:
        w.write(data[:1000])
        w.write(data[1000:])
    info = store.put_bytes("a/x.txt", b"hello")
    assert info.size == 5 and info.md5_hex == hashlib.md5(b"hello").hexdigest()
    assert store.size("a/b/c.bin") == len(data)
    assert b"".join(store.read_range("a/b/c.bin", 10, 5000)) == data[10:5000]
    with store.open("a/b/c.bin") as f:
        assert f.read() == data
    assert list(store.list("a/")) == ["a/b/c.bin", "a/x.txt"]
    store.delete("a/b/c.bin")
    assert not store.exists("a/b/c.bin")
    assert not (tmp_path / "blobs" / "a" / "b").exists()
    with pytest.raises(BlobNotFoundError):
        store.open("a/b/c.bin")


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    with pytest.raises(RuntimeError), store.writer("k") as w:
        w.write(b"partial")
        raise RuntimeError("client went away")
    assert not store.exists("k")
    assert list(store.list()) == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "a/../b", "", "a\x00b", "a/.."])
def test_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    with pytest.raises(InvalidBlobKeyError):
        store.put_bytes(key, b"x")
