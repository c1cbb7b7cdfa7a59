"""Exact nearest-neighbour search over an in-memory float32 matrix (the embedded default)."""

from __future__ import annotations

import threading

import numpy as np


class NumpyVectorIndex:
    """Brute-force euclidean search; ~1M x 128 vectors fit in 512 MB and search in tens of ms."""

    def __init__(self, dim: int = 128) -> None:
        self.dim = dim
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._matrix = np.empty((0, dim), dtype=np.float32)
        self._sq_norms = np.empty((0,), dtype=np.float32)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: list[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        with self._lock:
            start = len(self._ids)
            self._ids.extend(ids)
            for i, face_id in enumerate(ids):
                self._pos[face_id] = start + i
            self._matrix = np.concatenate([self._matrix, vectors])
            self._sq_norms = np.concatenate([self._sq_norms, np.einsum("ij,ij->i", vectors, vectors)])

    def remove(self, ids: list[str]) -> None:
        with self._lock:
            drop = {self._pos[i] for i in ids if i in self._pos}
            if not drop:
                return
            keep = np.array([p not in drop for p in range(len(self._ids))], dtype=bool)
            self._ids = [face_id for p, face_id in enumerate(self._ids) if keep[p]]
            self._pos = {face_id: p for p, face_id in enumerate(self._ids)}
            self._matrix = self._matrix[keep]
            self._sq_norms = self._sq_norms[keep]

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        with self._lock:
            matrix, sq_norms, ids = self._matrix, self._sq_norms, self._ids
        n = len(ids)
        if n == 0 or k <= 0:
            return []
        q = np.asarray(vector, dtype=np.float32).reshape(self.dim)
        # |a-b|^2 = |a|^2 - 2ab + |b|^2: one matrix-vector product instead of an (n, dim) temporary
        d2 = sq_norms - 2.0 * (matrix @ q) + float(q @ q)
        k = min(k, n)
        top = np.argpartition(d2, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.argsort(d2[top], kind="stable")]
        return [(ids[i], float(np.sqrt(max(d2[i], 0.0)))) for i in top]
