"""The blob store interface: named byte objects, written and read as streams."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol


class BlobNotFoundError(KeyError):
    """No blob under that key."""


class InvalidBlobKeyError(ValueError):
    """The key could escape the store or is otherwise malformed."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    md5_hex: str


class BlobWriter(Protocol):
    """An open blob being written; nothing is visible under the key until commit."""

    def write(self, data: bytes) -> None: ...

    @property
    def size(self) -> int: ...

    def commit(self) -> BlobInfo: ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    def writer(self, key: str) -> AbstractContextManager[BlobWriter]:
        """Context manager: commits on normal exit (unless already committed), aborts on error."""
        ...

    def put_bytes(self, key: str, data: bytes) -> BlobInfo: ...

    def open(self, key: str) -> BinaryIO:
        """A seekable binary reader; the caller closes it."""
        ...

    def read_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end) in chunks."""
        ...

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str = "") -> Iterator[str]: ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path to the blob when the store has one (lets PyAV seek); else None."""
        ...


_KEY_RE = re.compile(r"^[A-Za-z0-9!_.*'()\-/=+,:@ ~]+$")


def validate_key(key: str) -> str:
    """Reject keys that could escape the store: absolute, '..' segments, empty segments, odd bytes."""
    if not key or len(key) > 1024 or not _KEY_RE.match(key):
        raise InvalidBlobKeyError(f"invalid blob key: {key!r}")
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidBlobKeyError(f"invalid blob key: {key!r}")
    return key
