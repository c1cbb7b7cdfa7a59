"""The vector index interface used for face search."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VectorIndex(Protocol):
    def add(self, ids: list[str], vectors: np.ndarray) -> None: ...

    def remove(self, ids: list[str]) -> None: ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k nearest ids with their euclidean distances, nearest first."""
        ...

    def __len__(self) -> int: ...
