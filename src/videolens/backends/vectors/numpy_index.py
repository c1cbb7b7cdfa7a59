"""Exact nearest-neighbour search over an in-memory float32 matrix (the embedded default)."""

from __future__ import annotations

import threading

import numpy as np

#: bytes of one stored id (face ids are 36-character UUIDs)
ID_BYTES = 36


class NumpyVectorIndex:
    """Brute-force euclidean search over a contiguous float32 matrix: 1M x 128 vectors take ~550 MB
    (vector + norm + id) and one search is one matrix-vector product.

    Adds append into spare capacity (doubling, so a stream of small adds is amortised O(1) per row);
    removals mark the row dead by setting its squared norm to +inf (it can then never be a nearest
    neighbour) and the matrix is compacted once a quarter of it is dead. A search takes a consistent
    snapshot of (matrix, norms, ids, n) under the lock and computes without it: rows below n are only
    ever changed by removal (a single float write) or replaced wholesale by growth/compaction."""

    def __init__(self, dim: int = 128) -> None:
        self.dim = dim
        self._n = 0  # rows in use (live + dead)
        self._dead = 0
        self._matrix = np.empty((0, dim), dtype=np.float32)
        self._sq_norms = np.empty((0,), dtype=np.float32)
        self._ids = np.empty((0,), dtype=f"S{ID_BYTES}")
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._n - self._dead

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (capacity, not just rows in use)."""
        return int(self._matrix.nbytes + self._sq_norms.nbytes + self._ids.nbytes)

    def reserve(self, rows: int) -> None:
        """Room for `rows` rows without reallocating (a full load knows its size up front)."""
        with self._lock:
            if rows > len(self._matrix):
                self._resize(rows)

    def add(self, ids: list[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        if any(len(i) > ID_BYTES for i in ids):
            raise ValueError(f"ids are at most {ID_BYTES} characters")
        with self._lock:
            start, end = self._n, self._n + len(ids)
            if end > len(self._matrix):
                self._resize(max(end, 2 * len(self._matrix), 1024))
            self._matrix[start:end] = vectors
            self._sq_norms[start:end] = np.einsum("ij,ij->i", vectors, vectors)
            self._ids[start:end] = np.array(ids, dtype=f"S{ID_BYTES}")
            self._n = end

    def remove(self, ids: list[str]) -> None:
        if not ids:
            return
        with self._lock:
            live = self._ids[: self._n]
            wanted = np.array(ids, dtype=f"S{ID_BYTES}")
            if len(wanted) <= 16:  # a few ids: a vectorised compare per id beats sorting 1M strings
                rows = np.flatnonzero(np.logical_or.reduce([live == w for w in wanted]))
            else:
                rows = np.flatnonzero(np.isin(live, wanted))
            rows = rows[np.isfinite(self._sq_norms[rows])]
            if len(rows) == 0:
                return
            self._sq_norms[rows] = np.inf
            self._dead += len(rows)
            if self._dead > max(1024, self._n // 4):
                self._compact()

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        with self._lock:
            n = self._n
            matrix, sq_norms, ids = self._matrix[:n], self._sq_norms[:n], self._ids[:n]
            live = n - self._dead
        if live == 0 or k <= 0:
            return []
        q = np.asarray(vector, dtype=np.float32).reshape(self.dim)
        # |a-b|^2 = |a|^2 - 2ab + |b|^2: one matrix-vector product instead of an (n, dim) temporary;
        # dead rows have |b|^2 = inf, so they sort last and are dropped below
        d2 = sq_norms - 2.0 * (matrix @ q) + float(q @ q)
        k = min(k, n)
        top = np.argpartition(d2, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.argsort(d2[top], kind="stable")]
        return [(ids[i].decode(), float(np.sqrt(max(d2[i], 0.0)))) for i in top if np.isfinite(d2[i])]

    def _resize(self, capacity: int) -> None:
        # new arrays, never in place: a search that took a snapshot keeps reading the old ones
        matrix = np.empty((capacity, self.dim), dtype=np.float32)
        sq_norms = np.empty((capacity,), dtype=np.float32)
        ids = np.empty((capacity,), dtype=f"S{ID_BYTES}")
        n = self._n
        matrix[:n], sq_norms[:n], ids[:n] = self._matrix[:n], self._sq_norms[:n], self._ids[:n]
        self._matrix, self._sq_norms, self._ids = matrix, sq_norms, ids

    def _compact(self) -> None:
        keep = np.isfinite(self._sq_norms[: self._n])
        n = int(keep.sum())
        capacity = max(1024, n + n // 4)
        matrix = np.empty((capacity, self.dim), dtype=np.float32)
        sq_norms = np.empty((capacity,), dtype=np.float32)
        ids = np.empty((capacity,), dtype=f"S{ID_BYTES}")
        matrix[:n] = self._matrix[: self._n][keep]
        sq_norms[:n] = self._sq_norms[: self._n][keep]
        ids[:n] = self._ids[: self._n][keep]
        self._matrix, self._sq_norms, self._ids = matrix, sq_norms, ids
        self._n, self._dead = n, 0
