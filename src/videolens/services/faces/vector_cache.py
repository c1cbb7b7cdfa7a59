"""Per-collection vector indexes kept in memory and reloaded when the collection's version moves."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from videolens.backends.vectors.base import VectorIndex
from videolens.backends.vectors.numpy_index import NumpyVectorIndex

Loader = Callable[[str], tuple[int, list[str], np.ndarray]]


class VectorCache:
    """Maps collection id → (version, index). The metadata store is the source of truth: any worker
    that sees a newer version than its cached one reloads, so several processes stay consistent."""

    def __init__(self, loader: Loader, new_index: Callable[[], VectorIndex] = NumpyVectorIndex) -> None:
        self._loader = loader
        #: makes an empty index (any `VectorIndex`: the numpy one by default)
        self._new_index = new_index
        self._entries: dict[str, tuple[int, VectorIndex]] = {}
        self._lock = threading.Lock()

    def get(self, collection_id: str, version: int) -> VectorIndex:
        with self._lock:
            entry = self._entries.get(collection_id)
        if entry is not None and entry[0] == version:
            return entry[1]
        loaded_version, ids, vectors = self._loader(collection_id)
        index = self._new_index()
        if ids:
            index.add(ids, vectors)
        with self._lock:
            self._entries[collection_id] = (loaded_version, index)
        return index

    def apply(
        self,
        collection_id: str,
        old_version: int,
        new_version: int,
        add: tuple[list[str], np.ndarray] | None = None,
        remove: list[str] | None = None,
    ) -> None:
        """Update a cached index in place after this process changed the collection."""
        with self._lock:
            entry = self._entries.get(collection_id)
            if entry is None or entry[0] != old_version:
                self._entries.pop(collection_id, None)
                return
            index = entry[1]
            if add is not None and add[0]:
                index.add(add[0], add[1])
            if remove:
                index.remove(remove)
            self._entries[collection_id] = (new_version, index)

    def drop(self, collection_id: str) -> None:
        with self._lock:
            self._entries.pop(collection_id, None)
