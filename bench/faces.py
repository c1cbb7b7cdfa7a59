"""Face-engine benchmark: detection, embedding, end-to-end indexing and vector search latency.

Run: .venv/bin/python bench/faces.py [--media PATH] [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from videolens.media.images import decode_image
from videolens.vision.detector import FaceDetector
from videolens.vision.embedder import FaceEmbedder
from videolens.vision.similarity import face_distances

REPO_ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ("alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie")


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of `fn` in milliseconds over `repeat` runs (after one warm-up run)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default_media = os.environ.get("VIDEOLENS_TEST_MEDIA", str(REPO_ROOT.parent / "shared" / "media"))
    parser.add_argument("--media", default=default_media)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    faces_dir = Path(args.media) / "faces"

    print(f"cpu cores: {os.cpu_count()}")
    detector = FaceDetector()
    embedder = FaceEmbedder()
    print(f"onnxruntime providers: {detector.providers}")

    # Detection on 640x480 frames made from the real photos.
    photos = {p.name: decode_image(p.read_bytes()) for p in sorted((faces_dir / "_test").glob("*.jpg"))}
    frames = [cv2.resize(img, (640, 480), interpolation=cv2.INTER_AREA) for img in photos.values()]
    per_frame = [timed(lambda f=frame: detector.detect(f), repeat=5) for frame in frames]  # type: ignore[misc]
    print(f"detection, 640x480 image: {statistics.mean(per_frame):.1f} ms (mean of {len(frames)} images)")

    # Embedding: one face at a time vs one batched call, onnxruntime port vs dlib's own network.
    group = photos["obama_and_biden.jpg"]
    group_dets = detector.detect(group)
    chips = embedder.chips(group, group_dets) * 3  # 9 chips
    align_ms = timed(lambda: embedder.chips(group, group_dets), repeat=5) / len(group_dets)
    print(f"alignment (5-point shape + 150x150 chip): {align_ms:.2f} ms/face")
    single_ms = timed(lambda: embedder.embed_chips(chips[:1]), repeat=15)
    batch_ms = timed(lambda: embedder.embed_chips(chips), repeat=5) / len(chips)
    print(f"embedding (onnxruntime), single face: {single_ms:.1f} ms/face")
    speedup = single_ms / batch_ms
    print(f"embedding (onnxruntime), batch of {len(chips)}: {batch_ms:.1f} ms/face (batching x{speedup:.2f})")
    reference = FaceEmbedder(backend="dlib")
    dlib_single_ms = timed(lambda: reference.embed_chips(chips[:1]), repeat=5)
    dlib_batch_ms = timed(lambda: reference.embed_chips(chips), repeat=1) / len(chips)
    print(f"embedding (dlib-bin), single face: {dlib_single_ms:.1f} ms/face")
    speedup = dlib_single_ms / dlib_batch_ms
    print(
        f"embedding (dlib-bin), batch of {len(chips)}: {dlib_batch_ms:.1f} ms/face (batching x{speedup:.2f})"
    )
    diff = float(np.abs(embedder.embed_chips(chips) - reference.embed_chips(chips)).max())
    print(
        f"onnxruntime vs dlib: x{dlib_single_ms / single_ms:.1f} faster, max descriptor difference {diff:.1e}"
    )

    # End-to-end indexing throughput: decode + detect + align + embed over the enrolment photos.
    enrolment = [p for person in PEOPLE for p in sorted((faces_dir / person).iterdir()) if p.is_file()]
    faces = 0
    start = time.perf_counter()
    for path in enrolment:
        image = decode_image(path.read_bytes())
        detections = detector.detect(image)
        faces += len(embedder.embed(image, detections))
    elapsed = time.perf_counter() - start
    print(
        f"index throughput: {faces / elapsed:.2f} faces/s ({faces} faces from {len(enrolment)} photos "
        f"in {elapsed:.2f} s, decode+detect+embed)"
    )

    # Search latency over synthetic unit-norm descriptors.
    try:
        from videolens.backends.vectors.numpy_index import NumpyVectorIndex
    except ImportError:  # the index belongs to another module; the bench still measures the raw search
        NumpyVectorIndex = None  # type: ignore[assignment,misc]  # noqa: N806
    rng = np.random.default_rng(0)
    for size in (int(s) for s in args.sizes.split(",")):
        vectors = rng.standard_normal((size, 128), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = vectors[rng.integers(0, size, 10)] + 0.05 * rng.standard_normal((10, 128), dtype=np.float32)
        query_list = list(np.concatenate([queries] * 10))

        def raw_search(matrix: np.ndarray = vectors, pending: list[np.ndarray] = query_list) -> np.ndarray:
            distances = face_distances(matrix, pending.pop())
            top = np.argpartition(distances, 9)[:10]
            return top[np.argsort(distances[top])]

        raw_ms = timed(raw_search, repeat=9)
        line = f"search top-10 over {size:>9,} faces: face_distances+argpartition {raw_ms:8.2f} ms"
        if NumpyVectorIndex is not None:
            index = NumpyVectorIndex(128)
            index.add([f"f{i}" for i in range(size)], vectors)
            index_ms = timed(lambda idx=index, q=query_list: idx.search(q.pop(), 10), repeat=9)  # type: ignore[misc]
            line += f" | NumpyVectorIndex.search {index_ms:8.2f} ms (raw/index time x{raw_ms / index_ms:.1f})"
            del index
        print(line)
        del vectors


if __name__ == "__main__":
    main()
