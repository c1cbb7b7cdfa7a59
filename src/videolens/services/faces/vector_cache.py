"""Per-collection vector indexes kept in memory, brought up to date incrementally from the metadata DB."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.faces import CollectionRow, FaceRow, FaceTombstoneRow
from videolens.backends.vectors.base import VectorIndex
from videolens.backends.vectors.numpy_index import NumpyVectorIndex

DIM = 128
#: rows fetched per round trip of a full load: bounds the transient memory beside the index
LOAD_CHUNK = 20_000
#: tombstones of this many latest versions are kept; a node further behind than that loads in full
TOMBSTONE_VERSIONS_KEPT = 100_000


@dataclass(frozen=True)
class Reload:
    """What the last refresh of a collection did (the bench and the tests read it)."""

    kind: Literal["full", "delta"]
    added: int  # face rows read
    removed: int  # tombstone rows read
    seconds: float


@dataclass
class _Entry:
    epoch: str  # the collection's creation time: a deleted and re-created collection is a new one
    version: int
    index: VectorIndex
    lock: threading.Lock = field(default_factory=threading.Lock)


class VectorCache:
    """Maps collection id → index at a known collection version. The metadata store is the source of
    truth: a search passes the version it just read; a cache that is behind reads only the faces added
    (`faces.version`) and deleted (`face_tombstones.version`) in (cached, current] and applies them.

    Why that cannot miss a row: every change bumps `collections.version` in its own transaction while
    holding that row's write lock, so changes commit in version order, and once version V is visible
    every change ≤ V is visible too. Reads are bounded by V, and replaying them is idempotent (face ids
    are never reused; a removed id that is absent is a no-op), so reads overlapping a later change
    are harmless."""

    def __init__(self, db: Database, new_index: Callable[[], VectorIndex] = NumpyVectorIndex) -> None:
        self._db = db
        #: makes an empty index (any `VectorIndex`: the numpy one by default)
        self._new_index = new_index
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.last_reload: dict[str, Reload] = {}

    def get(self, collection_id: str, epoch: str, version: int, floor: int = 0) -> VectorIndex:
        """The collection's index at `version` or newer; `floor` is its `tombstones_from`."""
        with self._lock:
            entry = self._entries.get(collection_id)
            if entry is None or entry.epoch != epoch:
                entry = _Entry(epoch, -1, self._new_index())
                self._entries[collection_id] = entry
        if entry.version >= version:
            return entry.index
        with entry.lock:  # one refresh at a time per collection; the others wait and then see it done
            if entry.version < version:
                start = time.perf_counter()
                kind: Literal["full", "delta"] = "delta"
                delta = None
                if entry.version >= max(floor, 0):
                    delta = self._delta(collection_id, entry.version, version, entry.index)
                if delta is None:  # first load, or tombstones this node needs were pruned
                    kind, fresh = "full", self._new_index()
                    delta = self._full(collection_id, version, fresh), 0
                    entry.index = fresh  # swapped in whole: searches never see a half-loaded index
                added, removed = delta
                entry.version = version
                self.last_reload[collection_id] = Reload(kind, added, removed, time.perf_counter() - start)
        return entry.index

    def drop(self, collection_id: str) -> None:
        with self._lock:
            self._entries.pop(collection_id, None)
            self.last_reload.pop(collection_id, None)

    def _full(self, collection_id: str, version: int, index: VectorIndex) -> int:
        where = (FaceRow.collection_id == collection_id, FaceRow.version <= version)
        count = 0
        with self._db.engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(FaceRow).where(*where)) or 0
            reserve = getattr(index, "reserve", None)
            if reserve is not None:  # one allocation, not log2(n) growth copies at twice the memory
                reserve(total + total // 16)
            if self._db.is_sqlite:
                q = select(FaceRow.face_id, FaceRow.embedding).where(*where).order_by(FaceRow.seq)
                result = conn.execution_options(stream_results=True).execute(q)
                chunks: Iterator[Sequence[Any]] = result.partitions(LOAD_CHUNK)
            else:
                chunks = _binary_chunks(conn, collection_id, version)
            for rows in chunks:
                _add_rows(index, rows)
                count += len(rows)
        return count

    def _delta(self, collection_id: str, since: int, upto: int, index: VectorIndex) -> tuple[int, int] | None:
        """Apply the changes in (since, upto]; None (nothing applied) when some were pruned meanwhile."""
        with self._db.session() as s:
            added = s.execute(
                select(FaceRow.face_id, FaceRow.embedding)
                .where(
                    FaceRow.collection_id == collection_id,
                    FaceRow.version > since,
                    FaceRow.version <= upto,
                )
                .order_by(FaceRow.seq)
            ).all()
            removed = list(
                s.scalars(
                    select(FaceTombstoneRow.face_id).where(
                        FaceTombstoneRow.collection_id == collection_id,
                        FaceTombstoneRow.version > since,
                        FaceTombstoneRow.version <= upto,
                    )
                )
            )
            # read after the tombstones: a prune that removed some of them has committed by now
            floor = s.scalar(
                select(CollectionRow.tombstones_from).where(CollectionRow.collection_id == collection_id)
            )
        if floor is None or floor > since:
            return None
        # adds first: a face added and deleted inside the window has no row left, only its tombstone
        _add_rows(index, added)
        index.remove(removed)
        return len(added), len(removed)


def prune_tombstones(s: Session, collection_id: str, version: int) -> None:
    """Drop the tombstones older than the kept window (inside the delete's locked transaction)."""
    floor = version - TOMBSTONE_VERSIONS_KEPT
    raised = s.execute(
        update(CollectionRow)
        .where(CollectionRow.collection_id == collection_id, CollectionRow.tombstones_from < floor)
        .values(tombstones_from=floor)
        .execution_options(synchronize_session=False)
    )
    if raised.rowcount:  # type: ignore[attr-defined]
        s.execute(
            delete(FaceTombstoneRow).where(
                FaceTombstoneRow.collection_id == collection_id, FaceTombstoneRow.version <= floor
            )
        )


def _binary_chunks(conn: Connection, collection_id: str, version: int) -> Iterator[Sequence[Any]]:
    """The rows of a full load from a server-side cursor in binary format: the embeddings arrive as
    bytes instead of hex text, and no ORM rows are built (1M faces: ~2 s instead of ~10 s)."""
    raw = conn.connection.driver_connection
    with raw.cursor(name=f"vectors_{uuid.uuid4().hex}", binary=True) as cur:  # type: ignore[union-attr]
        cur.execute(
            "SELECT face_id, embedding FROM faces WHERE collection_id = %s AND version <= %s ORDER BY seq",
            (collection_id, version),
        )
        while rows := cur.fetchmany(LOAD_CHUNK):
            yield rows


def _add_rows(index: VectorIndex, rows: object) -> None:
    pairs = list(rows)  # type: ignore[call-overload]
    if not pairs:
        return
    vectors = np.frombuffer(b"".join(r[1] for r in pairs), dtype="<f4").reshape(-1, DIM)
    index.add([r[0] for r in pairs], vectors)
