"""Descriptor distances and the calibrated 0–100 similarity percentage derived from them."""

from __future__ import annotations

import math

import numpy as np

# Logistic mapping of the euclidean dlib-descriptor distance to a percentage. Calibrated on the photos in
# shared/media/faces: the issue quotes same-person distances up to 0.52 and different-person ones from
# 0.61 (our alignment measures 0.33–0.46 and 0.69–1.12), so the default threshold (80 %) is placed at
# d = 0.565, in the middle of that gap, and the 50 % point at d = 0.65. Table: docs/face-engine.md.
MIDPOINT_DISTANCE = 0.65
THRESHOLD_DISTANCE = 0.565
DEFAULT_MATCH_THRESHOLD = 80.0
_CHUNK = 65_536
_STEEPNESS = math.log(100.0 / DEFAULT_MATCH_THRESHOLD - 1.0) / (THRESHOLD_DISTANCE - MIDPOINT_DISTANCE)


def face_distances(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Euclidean distance from `vector` (128,) to every row of `matrix` (N, 128); returns (N,) float32."""
    rows = matrix.shape[0]
    out = np.empty((rows,), dtype=np.float32)
    query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
    # Chunks keep the temporary difference array small (1M x 128 floats would be 512 MB at once).
    for start in range(0, rows, _CHUNK):
        diff = np.asarray(matrix[start : start + _CHUNK], dtype=np.float32) - query
        np.sqrt(np.einsum("ij,ij->i", diff, diff), out=out[start : start + _CHUNK])
    return out


def similarity_from_distance(distance: float | np.ndarray) -> float | np.ndarray:
    """Calibrated similarity in 0..100 (monotonically decreasing in the distance)."""
    d = np.asarray(distance, dtype=np.float64)
    result = 100.0 / (1.0 + np.exp(np.clip(_STEEPNESS * (d - MIDPOINT_DISTANCE), -700.0, 700.0)))
    if np.ndim(result) == 0:
        return float(result)
    return result


def distance_from_similarity(similarity: float) -> float:
    """The largest distance whose similarity is still >= `similarity` (inverse of the mapping)."""
    if similarity >= 100.0:
        return 0.0
    if similarity <= 0.0:
        return math.inf
    return MIDPOINT_DISTANCE + math.log(100.0 / similarity - 1.0) / _STEEPNESS
