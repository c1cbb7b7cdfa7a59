"""Face detection / face search of a stored video: the face-track configuration of the one pipeline.

The video runs through `faces.track_faces` (frame source → adaptive sampler → CenterFace → tracker →
per-step results; docs/architecture.md). Results are reported once per `sample_ms` of video
(Rekognition samples every 500 ms): for sample time T, each track contributes the look of its own that
lies closest to T within [T - step/2, T + step/2), so a face missed on the frame at T is still
reported. For face search every reported detection is embedded; tracks that never overlap in time and
whose mean descriptors are close are the same person (they left the picture and came back), so one
person keeps one `Index` for the whole video, and each person is matched against the collection once,
on their mean descriptor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from videolens.media.errors import MediaError
from videolens.media.frames_at import frames_at
from videolens.media.video_reader import VideoMetadata, probe
from videolens.services.faces.models import AttributeLevel, FaceDetail
from videolens.services.faces.service import FacesService
from videolens.services.jobs.models import JobStopped, ResultEntry
from videolens.services.sightings.models import SightingsSink, TrackSighting, face_thumbnail
from videolens.services.video_analysis.faces import JOB_DETECT_MAX_SIDE, SamplingConfig, track_faces
from videolens.services.video_analysis.pipeline import Stopped
from videolens.vision.models import ModelRegistry
from videolens.vision.similarity import THRESHOLD_DISTANCE
from videolens.vision.types import Detection

#: two tracks are one person when their mean descriptors are closer than this (same-person gap of
#: the calibrated similarity scale)
SAME_PERSON_DISTANCE = THRESHOLD_DISTANCE
MAX_MATCHES_PER_PERSON = 10


@dataclass
class AnalysisOutput:
    metadata: VideoMetadata
    entries: list[ResultEntry]
    frames: int
    tracks: int
    persons: int = 0


@dataclass
class _Sample:
    timestamp_ms: int
    track_id: int
    detail: FaceDetail
    embedding: np.ndarray | None


@dataclass
class _Person:
    index: int
    tracks: list[int] = field(default_factory=list)
    times: set[int] = field(default_factory=set)
    embeddings: list[np.ndarray] = field(default_factory=list)

    @property
    def mean(self) -> np.ndarray:
        return np.mean(np.stack(self.embeddings), axis=0)


Progress = Callable[[float], None]
ShouldStop = Callable[[], bool]


class FaceVideoAnalyzer:
    def __init__(
        self,
        faces: FacesService,
        models: ModelRegistry,
        sample_ms: int = 500,
        detect_every: int = 0,
        detect_max_side: int = JOB_DETECT_MAX_SIDE,
        sink: SightingsSink | None = None,
    ) -> None:
        #: every face track of a search job is handed to it (the sightings index), if given
        self.sink = sink
        self.faces = faces
        self.models = models
        self.analysis = faces.analysis
        self.sample_ms = sample_ms
        #: 0: the adaptive sampler (default); 1: every frame; N: every N-th frame
        self.detect_every = detect_every
        self.detect_max_side = detect_max_side

    def detect(
        self,
        path: Path,
        attributes: AttributeLevel,
        progress: Progress,
        should_stop: ShouldStop,
        name: str | None = None,
    ) -> AnalysisOutput:
        meta, samples, n_frames, n_tracks = self._scan(path, attributes, False, progress, should_stop, name)
        entries = [
            ResultEntry(
                s.timestamp_ms,
                None,
                {"timestamp_ms": s.timestamp_ms, "track_id": s.track_id, "face": asdict(s.detail)},
            )
            for s in samples
        ]
        return AnalysisOutput(meta, entries, n_frames, n_tracks)

    def search(
        self,
        path: Path,
        collection_id: str,
        threshold: float | None,
        progress: Progress,
        should_stop: ShouldStop,
        name: str | None = None,
        source: str | None = None,
    ) -> AnalysisOutput:
        self.faces.describe_collection(collection_id)  # fail early on a missing collection
        meta, samples, n_frames, n_tracks = self._scan(path, "DEFAULT", True, progress, should_stop, name)
        if self.sink is not None and source is not None:
            self._sightings(samples, source, path)
        persons = _group_persons(samples)
        people = list(persons.values())
        found = self.faces.search_embeddings(
            collection_id, [p.mean.astype(np.float32) for p in people], MAX_MATCHES_PER_PERSON, threshold
        )
        matches: dict[int, list[dict[str, Any]]] = {
            person.index: [{"similarity": m.similarity, "face": asdict(m.face)} for m in person_matches]
            for person, person_matches in zip(people, found, strict=True)
        }
        index_of = {tid: p.index for p in persons.values() for tid in p.tracks}
        entries = []
        for s in sorted(samples, key=lambda s: (s.timestamp_ms, index_of[s.track_id], s.track_id)):
            idx = index_of[s.track_id]
            doc = {
                "timestamp_ms": s.timestamp_ms,
                "person_index": idx,
                "track_id": s.track_id,
                "face": asdict(s.detail),
                "matches": matches[idx],
            }
            entries.append(ResultEntry(s.timestamp_ms, idx, doc))
        return AnalysisOutput(meta, entries, n_frames, n_tracks, len(persons))

    def _sightings(self, samples: list[_Sample], source: str, path: Path) -> None:
        assert self.sink is not None
        by_track: dict[int, list[_Sample]] = {}
        for s in samples:
            by_track.setdefault(s.track_id, []).append(s)
        tracks = list(by_track.values())
        # each track's most confident look is its thumbnail: one seek per track, not a second scan
        best = [max(looks, key=lambda s: s.detail.confidence) for looks in tracks]
        try:
            frames = frames_at(path, [s.timestamp_ms / 1000.0 for s in best])
        except MediaError:
            frames = [None] * len(best)
        for looks, look, frame in zip(tracks, best, frames, strict=True):
            descriptors = [(s.detail.confidence, s.embedding) for s in looks if s.embedding is not None]
            times = [s.timestamp_ms / 1000.0 for s in looks]
            b = look.detail.bounding_box
            thumbnail = None if frame is None else face_thumbnail(frame, b.left, b.top, b.width, b.height)
            self.sink.record(
                TrackSighting(
                    "video",
                    source,
                    min(times),
                    max(times) + self.sample_ms / 1000.0,
                    descriptors,
                    thumbnail=thumbnail,
                )
            )

    # ------------------------------------------------------------------------------------------
    def _scan(
        self,
        path: Path,
        attributes: AttributeLevel,
        embed: bool,
        progress: Progress,
        should_stop: ShouldStop,
        name: str | None = None,
    ) -> tuple[VideoMetadata, list[_Sample], int, int]:
        meta = probe(path, name)
        detector = self.models.detector.with_max_input_side(self.detect_max_side)

        def describe(image: np.ndarray, det: Detection) -> FaceDetail:
            return self.analysis.describe(image, det, attributes)

        try:
            result = track_faces(
                path,
                detector,
                describe,
                sampling=SamplingConfig.from_stride(self.detect_every),
                step_ms=self.sample_ms,
                embed=self.models.embedder.embed if embed else None,
                should_stop=should_stop,
                progress=progress,
                name=name,
            )
        except Stopped as exc:
            raise JobStopped("the job was stopped") from exc
        samples = [_Sample(s.timestamp_ms, s.track_id, s.detail, s.embedding) for s in result.samples]
        return meta, samples, result.frames, result.tracks


def _group_persons(samples: list[_Sample]) -> dict[int, _Person]:
    """Tracks → persons: a track joins the closest earlier person it never co-occurs with, if close enough."""
    by_track: dict[int, list[_Sample]] = {}
    for s in samples:
        by_track.setdefault(s.track_id, []).append(s)
    persons: dict[int, _Person] = {}
    order = sorted(by_track, key=lambda tid: (by_track[tid][0].timestamp_ms, tid))
    for tid in order:
        track_samples = by_track[tid]
        embs = [s.embedding for s in track_samples if s.embedding is not None]
        mean = np.mean(np.stack(embs), axis=0)
        times = {s.timestamp_ms for s in track_samples}
        best: _Person | None = None
        best_d = SAME_PERSON_DISTANCE
        for p in persons.values():
            if p.times & times:
                continue
            d = float(np.linalg.norm(p.mean - mean))
            if d < best_d:
                best, best_d = p, d
        if best is None:
            best = _Person(index=tid)
            persons[tid] = best
        best.tracks.append(tid)
        best.times |= times
        best.embeddings.extend(embs)
    return persons
