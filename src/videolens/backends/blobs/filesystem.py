"""Blob store on the local filesystem: one file per key, atomic writes via temp file + rename."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from videolens.backends.blobs.base import BlobInfo, BlobNotFoundError, validate_key

CHUNK = 1024 * 1024


class FilesystemBlobWriter:
    def __init__(self, root: Path, key: str) -> None:
        self._final = root / key
        self._final.parent.mkdir(parents=True, exist_ok=True)
        tmp_dir = root / ".tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "wb")
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._size = 0
        self._key = key
        self.done = False

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._md5.update(data)
        self._size += len(data)

    @property
    def size(self) -> int:
        return self._size

    def commit(self) -> BlobInfo:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self._final)
        self.done = True
        return BlobInfo(self._key, self._size, self._md5.hexdigest())

    def abort(self) -> None:
        try:
            if not self._file.closed:
                self._file.close()  # flushing the buffer fails again on a full disk
        except OSError:
            pass
        finally:
            self._tmp.unlink(missing_ok=True)
            self.done = True


class FilesystemBlobStore:
    """Blobs under `root`; keys are validated so they can never leave it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    @contextmanager
    def writer(self, key: str) -> Iterator[FilesystemBlobWriter]:
        w = FilesystemBlobWriter(self.root, validate_key(key))
        try:
            yield w
        except BaseException:
            w.abort()
            raise
        if not w.done:
            w.commit()

    def put_bytes(self, key: str, data: bytes) -> BlobInfo:
        with self.writer(key) as w:
            w.write(data)
            return w.commit()

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")  # noqa: SIM115 - the caller owns the handle
        except FileNotFoundError as exc:
            raise BlobNotFoundError(key) from exc

    def read_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        with self.open(key) as f:
            f.seek(start)
            left = end - start
            while left > 0:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise BlobNotFoundError(key) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # prune empty parent directories up to the root so listings stay cheap
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in lexicographic order (like S3 listings)."""
        yield from self._walk(self.root, "", prefix)

    def _walk(self, directory: Path, rel: str, prefix: str) -> Iterator[str]:
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            return
        # a directory "b" sorts as "b/" so that the merged order equals the order of the full keys
        entries.sort(key=lambda e: e.name + "/" if e.is_dir() else e.name)
        for entry in entries:
            key = rel + entry.name
            if entry.is_dir():
                if key == ".tmp":
                    continue
                sub = key + "/"
                if sub.startswith(prefix) or prefix.startswith(sub):
                    yield from self._walk(Path(entry.path), sub, prefix)
            elif key.startswith(prefix):
                yield key

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
