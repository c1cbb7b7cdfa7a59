"""Distance → similarity calibration and the euclidean distance helper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from videolens.vision.similarity import (
    DEFAULT_MATCH_THRESHOLD,
    distance_from_similarity,
    face_distances,
    similarity_from_distance,
)


def test_threshold_sits_in_the_gap_between_same_and_different_people() -> None:
    assert DEFAULT_MATCH_THRESHOLD == 80.0
    assert similarity_from_distance(0.565) == pytest.approx(80.0, abs=1e-9)
    assert similarity_from_distance(0.65) == pytest.approx(50.0, abs=1e-9)
    assert similarity_from_distance(0.52) > 88.0  # the largest same-person distance of the issue
    assert similarity_from_distance(0.61) < 67.0  # the smallest different-person distance of the issue
    assert similarity_from_distance(0.0) > 99.99 and similarity_from_distance(0.3) > 99.0
    assert similarity_from_distance(1.11) < 0.1 and similarity_from_distance(5.0) == pytest.approx(
        0.0, abs=1e-12
    )


def test_mapping_is_monotonic_and_vectorised() -> None:
    distances = np.linspace(0.0, 2.0, 201)
    values = similarity_from_distance(distances)
    assert isinstance(values, np.ndarray) and values.shape == (201,)
    assert np.all(np.diff(values) < 0) and values.min() >= 0.0 and values.max() <= 100.0
    assert isinstance(similarity_from_distance(0.4), float)


@pytest.mark.parametrize("similarity", [1.0, 25.0, 50.0, 80.0, 90.0, 99.0, 99.9])
def test_distance_from_similarity_inverts_the_mapping(similarity: float) -> None:
    distance = distance_from_similarity(similarity)
    assert similarity_from_distance(distance) == pytest.approx(similarity, rel=1e-9)


def test_distance_from_similarity_ends() -> None:
    assert distance_from_similarity(100.0) == 0.0
    assert distance_from_similarity(0.0) == math.inf
    assert distance_from_similarity(80.0) == pytest.approx(0.565)


def test_face_distances_is_euclidean_over_chunks() -> None:
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(70_000, 128)).astype(np.float32)  # more than one internal chunk
    vector = rng.normal(size=128).astype(np.float32)
    distances = face_distances(matrix, vector)
    assert distances.shape == (70_000,) and distances.dtype == np.float32
    np.testing.assert_allclose(distances, np.linalg.norm(matrix - vector, axis=1), rtol=1e-5)
    assert face_distances(np.zeros((0, 128), dtype=np.float32), vector).shape == (0,)
    assert face_distances(matrix[:1], matrix[0])[0] == 0.0
