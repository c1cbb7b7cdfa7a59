"""Exact numpy vector index: nearest neighbours, removal, order."""

from __future__ import annotations

import numpy as np

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
