"""Sparing enrolled people: per-track identity decisions from embeddings on the track's keyframes.

Rule ("when unsure, blur"): a keyframe of a track is spared only when the embedding computed on that
very keyframe matches the collection with similarity >= the threshold. A track that looks spared is
re-checked on every keyframe (so an identity swap when two faces cross cannot uncover the other
person); a track that does not match is given a few more good keyframes and then stays hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from videolens.vision.embedder import FaceEmbedder
from videolens.vision.similarity import face_distances, similarity_from_distance
from videolens.vision.types import Detection

#: non-matching tracks get this many good-quality attempts before they are no longer embedded
MAX_ATTEMPTS = 3
#: below these the aligned chip is too poor for a trustworthy embedding (the face stays hidden anyway)
MIN_EMBED_SIDE = 24
MIN_EMBED_SCORE = 0.4


class SpareMatcher(Protocol):
    """Best calibrated similarity (0..100) of one face descriptor against the people to spare."""

    def best_similarity(self, embedding: np.ndarray) -> float: ...


class EmbeddingsMatcher:
    """Matcher over an in-memory set of descriptors (N, 128)."""

    def __init__(self, embeddings: np.ndarray) -> None:
        self.embeddings = np.asarray(embeddings, dtype=np.float32).reshape(-1, 128)

    def best_similarity(self, embedding: np.ndarray) -> float:
        if self.embeddings.shape[0] == 0:
            return 0.0
        distance = float(face_distances(self.embeddings, embedding).min())
        return float(similarity_from_distance(distance))


class CallableMatcher:
    """Adapter for any `embedding -> similarity` function (e.g. a search in a faces collection)."""

    def __init__(self, fn: Callable[[np.ndarray], float]) -> None:
        self._fn = fn

    def best_similarity(self, embedding: np.ndarray) -> float:
        return float(self._fn(embedding))


@dataclass
class TrackIdentity:
    attempts: int = 0
    looks_spared: bool = False
    best_similarity: float = 0.0
    keyframes: dict[int, bool] = field(default_factory=dict)  # keyframe index -> spared there


class SpareDecider:
    """Decides, per track keyframe, whether the face belongs to a spared person."""

    def __init__(self, matcher: SpareMatcher, embedder: FaceEmbedder, threshold: float) -> None:
        self.matcher = matcher
        self.embedder = embedder
        self.threshold = threshold
        self.tracks: dict[int, TrackIdentity] = {}

    def observe(self, frame_index: int, image_bgr: np.ndarray, matches: list[tuple[int, Detection]]) -> None:
        """Embed the detections of one keyframe that need a decision and record it."""
        todo: list[tuple[int, Detection]] = []
        for track_id, det in matches:
            ident = self.tracks.setdefault(track_id, TrackIdentity())
            good = min(det.width, det.height) >= MIN_EMBED_SIDE and det.score >= MIN_EMBED_SCORE
            if good and (ident.looks_spared or ident.attempts < MAX_ATTEMPTS):
                todo.append((track_id, det))
            else:
                ident.keyframes[frame_index] = False
        if not todo:
            return
        embeddings = self.embedder.embed(image_bgr, [d for _, d in todo])
        for (track_id, _), emb in zip(todo, embeddings, strict=True):
            ident = self.tracks[track_id]
            similarity = self.matcher.best_similarity(emb)
            ident.attempts += 1
            ident.best_similarity = max(ident.best_similarity, similarity)
            spared = similarity >= self.threshold
            ident.looks_spared = spared
            ident.keyframes[frame_index] = spared

    def spared(self, track_id: int, sources: tuple[int, ...]) -> bool:
        """A box is spared only when every keyframe it was derived from was spared."""
        ident = self.tracks.get(track_id)
        if ident is None:
            return False
        return all(ident.keyframes.get(k, False) for k in sources)

    def forget_before(self, frame_index: int, live_tracks: Collection[int] | None = None) -> None:
        """Drop keyframes older than `frame_index`, and the tracks not in `live_tracks` (those the
        tracker dropped produce no more boxes): a long video must not pay per frame for every track
        it ever saw."""
        if live_tracks is not None:
            for track_id in [t for t in self.tracks if t not in live_tracks]:
                del self.tracks[track_id]
        for ident in self.tracks.values():
            old = [k for k in ident.keyframes if k < frame_index]
            # keep the latest old keyframe: it still brackets frames after the cut
            for k in sorted(old)[:-1]:
                del ident.keyframes[k]
