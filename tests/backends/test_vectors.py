"""Exact numpy vector index: nearest neighbours, removal, order."""

from __future__ import annotations

import numpy as np
import pytest

from videolens.backends.vectors.numpy_index import NumpyVectorIndex


def test_search_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(2000, 128)).astype(np.float32)
    ids = [f"f{i}" for i in range(2000)]
    index = NumpyVectorIndex()
    index.add(ids[:1000], vecs[:1000])
    index.add(ids[1000:], vecs[1000:])
    q = rng.normal(size=128).astype(np.float32)
    got = index.search(q, 5)
    d = np.linalg.norm(vecs - q, axis=1)
    want = np.argsort(d)[:5]
    assert [g[0] for g in got] == [ids[i] for i in want]
    assert np.allclose([g[1] for g in got], d[want], atol=1e-3)


def test_remove_and_small_k() -> None:
    index = NumpyVectorIndex(dim=2)
    index.add(["a", "b", "c"], np.array([[0, 0], [1, 0], [5, 0]], dtype=np.float32))
    index.remove(["b"])
    assert len(index) == 2
    assert index.search(np.array([0.9, 0], np.float32), 10) == [
        ("a", 0.8999999761581421),
        ("c", 4.099999904632568),
    ]
    assert index.search(np.array([0, 0], np.float32), 0) == []


def test_one_at_a_time_adds_grow_amortised_and_stay_exact() -> None:
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(3000, 8)).astype(np.float32)
    index = NumpyVectorIndex(dim=8)
    capacities = set()
    for i in range(3000):
        index.add([f"f{i}"], vecs[i : i + 1])
        capacities.add(index.nbytes)
    assert len(index) == 3000
    assert len(capacities) == 3  # 1024 → 2048 → 4096 rows: two reallocations for 3000 single adds
    q = rng.normal(size=8).astype(np.float32)
    want = np.argsort(np.linalg.norm(vecs - q, axis=1))[:3]
    assert [g[0] for g in index.search(q, 3)] == [f"f{i}" for i in want]


def test_removals_mark_then_compact_and_results_stay_exact() -> None:
    rng = np.random.default_rng(5)
    vecs = rng.normal(size=(6000, 8)).astype(np.float32)
    ids = [f"f{i}" for i in range(6000)]
    index = NumpyVectorIndex(dim=8)
    index.add(ids, vecs)
    index.remove(["f0", "nope"])  # a few ids: marked dead, unknown ids ignored
    assert len(index) == 5999
    index.remove(["f0"])  # removing twice counts once
    assert len(index) == 5999
    gone = set(ids[:2000])
    index.remove(sorted(gone))  # past a quarter dead: compacted
    assert len(index) == 4000 and index._dead == 0 and index._n == 4000
    alive = np.array([i not in gone for i in ids])
    for q in rng.normal(size=(5, 8)).astype(np.float32):
        d = np.where(alive, np.linalg.norm(vecs - q, axis=1), np.inf)
        want = [ids[i] for i in np.argsort(d)[:10]]
        assert [g[0] for g in index.search(q, 10)] == want
    # asking for more than are left returns only the live ones
    small = NumpyVectorIndex(dim=8)
    small.add(["a", "b"], vecs[:2])
    small.remove(["a"])
    assert [g[0] for g in small.search(vecs[0], 5)] == ["b"]


def test_a_search_snapshot_is_unaffected_by_growth_during_it() -> None:
    index = NumpyVectorIndex(dim=2)
    index.add(["a"], np.array([[0, 0]], np.float32))
    index.add([f"x{i}" for i in range(5000)], np.full((5000, 2), 9, np.float32))  # reallocates
    assert index.search(np.array([0, 0], np.float32), 1) == [("a", 0.0)]
    with pytest.raises(ValueError):
        index.add(["y" * 37], np.zeros((1, 2), np.float32))
