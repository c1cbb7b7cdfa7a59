"""The sightings index: face tracks kept with a few descriptors, searched exactly with numpy, grouped.

Search: a query descriptor (from an image's largest face, or a collection face's stored descriptor) is
compared with every descriptor of every kept sighting (exact euclidean distances, like the collections'
numpy index); a sighting matches when its nearest descriptor is within the face-match distance
(vision.similarity.THRESHOLD_DISTANCE, similarity 80). Groups: average-linkage agglomerative clustering
of the sightings' mean descriptors, merging while the closest pair is within that same distance.

Retention follows the video (`sweep`, run by a periodic task): a stream sighting goes once its newest
fragment is no longer stored (the stream's retention passed, or the stream was deleted); a stored-video
sighting goes with its object (at once through the storage's delete hook, or at the next sweep when the
object went by another way), and at the latest `sightings_video_retention_days` after it was recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import delete, select

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.sightings import SightingRow
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.faces.service import FacesService
from videolens.services.sightings.models import TrackSighting
from videolens.services.storage.service import StorageService
from videolens.services.streams.service import StreamsService
from videolens.vision.similarity import THRESHOLD_DISTANCE, similarity_from_distance

MAX_DESCRIPTORS = 3
DIM = 128


@dataclass(frozen=True)
class Appearance:
    sighting_id: str
    source_kind: str
    source: str
    start_s: float
    end_s: float
    fragments: list[str]
    similarity: float
    has_thumbnail: bool

    @property
    def clip(self) -> dict[str, object]:
        """Streams: a GetClip PRODUCER_TIMESTAMP range; stored videos: the object and the seconds."""
        if self.source_kind == "stream":
            return {
                "StreamARN": self.source,
                "ClipFragmentSelector": {
                    "FragmentSelectorType": "PRODUCER_TIMESTAMP",
                    "TimestampRange": {"StartTimestamp": self.start_s, "EndTimestamp": self.end_s},
                },
            }
        return {"Video": self.source, "StartSeconds": self.start_s, "EndSeconds": self.end_s}


@dataclass(frozen=True)
class Group:
    group_id: str
    sighting_ids: list[str]
    first_s: float
    last_s: float


def _vectors(row: SightingRow) -> np.ndarray:
    return np.frombuffer(row.descriptors, dtype=np.float32).reshape(-1, DIM)


class SightingsService:
    def __init__(
        self,
        db: Database,
        faces: FacesService,
        video_retention_days: float = 30.0,
        *,
        streams: StreamsService | None = None,
        storage: StorageService | None = None,
    ) -> None:
        self.db = db
        self.faces = faces
        self.video_retention = timedelta(days=video_retention_days)
        #: where the sweeper checks that a sighting's video still exists
        self.streams = streams
        self.storage = storage

    # -- the sink ----------------------------------------------------------------------------------
    def record(self, track: TrackSighting) -> str | None:
        if not track.descriptors:
            return None
        best = sorted(track.descriptors, key=lambda qd: -qd[0])[:MAX_DESCRIPTORS]
        vectors = np.stack([np.asarray(d, dtype=np.float32).reshape(DIM) for _, d in best])
        now = datetime.now(UTC)
        keep = self.video_retention if track.retention_s is None else timedelta(seconds=track.retention_s)
        row = SightingRow(
            sighting_id=str(uuid.uuid4()),
            source_kind=track.source_kind,
            source=track.source,
            start_s=float(track.start_s),
            end_s=float(track.end_s),
            fragments=list(track.fragments),
            descriptors=vectors.tobytes(),
            thumbnail=track.thumbnail,
            quality=float(best[0][0]),
            expires_at=now + keep,
            created_at=now,
        )
        with self.db.session() as s:
            s.add(row)
        return row.sighting_id

    def forget_source(self, source_kind: str, source: str) -> int:
        """A deleted stream or video object takes its sightings with it."""
        with self.db.session() as s:
            result = s.execute(
                delete(SightingRow).where(
                    SightingRow.source_kind == source_kind, SightingRow.source == source
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def expire(self, now: datetime | None = None) -> int:
        with self.db.session() as s:
            result = s.execute(delete(SightingRow).where(SightingRow.expires_at < (now or datetime.now(UTC))))
            return int(getattr(result, "rowcount", 0) or 0)

    def object_deleted(self, bucket: str, key: str) -> None:
        """Storage's delete hook: a stored video's sightings go with it."""
        self.forget_source("video", f"s3://{bucket}/{key}")

    def sweep(self) -> int:
        """Drop sightings past their expiry or whose video is gone; returns how many went."""
        removed = self.expire()
        with self.db.session() as s:
            query = select(SightingRow.source_kind, SightingRow.source).distinct()
            sources = [(str(kind), str(source)) for kind, source in s.execute(query)]
        for kind, source in sources:
            if kind == "stream" and self.streams is not None:
                removed += self._sweep_stream(source)
            elif kind == "video" and self.storage is not None and source.startswith("s3://"):
                bucket, _, key = source.removeprefix("s3://").partition("/")
                try:
                    self.storage.head_object(bucket, key)
                except NotFoundError:
                    removed += self.forget_source(kind, source)
        return removed

    def _sweep_stream(self, arn: str) -> int:
        assert self.streams is not None
        try:
            oldest = self.streams.fragments_after(None, arn=arn, limit=1)
        except NotFoundError:  # the stream was deleted
            return self.forget_source("stream", arn)
        if not oldest:  # every fragment expired
            return self.forget_source("stream", arn)
        first = int(oldest[0].fragment_number)
        with self.db.session() as s:
            rows = s.execute(
                select(SightingRow.sighting_id, SightingRow.fragments).where(
                    SightingRow.source_kind == "stream", SightingRow.source == arn
                )
            ).all()
            # fragment numbers grow with time: a sighting whose newest fragment is older than the
            # oldest one still stored has nothing left to play
            gone = [sid for sid, numbers in rows if max(map(int, numbers or []), default=0) < first]
            if gone:
                s.execute(delete(SightingRow).where(SightingRow.sighting_id.in_(gone)))
        return len(gone)

    # -- search --------------------------------------------------------------------------------------
    def _rows(self, stream: str | None = None, since_s: float | None = None) -> list[SightingRow]:
        query = select(SightingRow).where(SightingRow.expires_at >= datetime.now(UTC))
        if stream is not None:
            query = query.where(SightingRow.source_kind == "stream", SightingRow.source == stream)
        if since_s is not None:
            query = query.where(SightingRow.created_at >= datetime.fromtimestamp(since_s, UTC))
        with self.db.session() as s:
            rows = list(s.scalars(query).all())
            s.expunge_all()
        return rows

    def search_descriptor(
        self, vector: np.ndarray, stream: str | None = None, since_s: float | None = None
    ) -> list[Appearance]:
        """Every appearance within the face-match distance, newest first."""
        query = np.asarray(vector, dtype=np.float32).reshape(DIM)
        found = []
        for row in self._rows(stream, since_s):
            distance = float(np.min(np.linalg.norm(_vectors(row) - query, axis=1)))
            if distance <= THRESHOLD_DISTANCE:
                found.append((row, distance))
        found.sort(key=lambda rd: (-rd[0].created_at.timestamp(), -rd[0].start_s))
        return [
            Appearance(
                r.sighting_id,
                r.source_kind,
                r.source,
                r.start_s,
                r.end_s,
                list(r.fragments),
                round(float(similarity_from_distance(d)), 3),
                r.thumbnail is not None,
            )
            for r, d in found
        ]

    def search_image(
        self, image: bytes, stream: str | None = None, since_s: float | None = None
    ) -> list[Appearance]:
        analysed = self.faces.analysis.analyse(image)
        if not analysed.detections:
            raise InvalidParameterError("there are no faces in the image")
        areas = [(d.x2 - d.x1) * (d.y2 - d.y1) for d in analysed.detections]
        largest = analysed.detections[int(np.argmax(areas))]
        vector = self.faces.analysis.embed(analysed.image, [largest])[0]
        return self.search_descriptor(vector, stream, since_s)

    def search_face(
        self, collection_id: str, face_id: str, stream: str | None = None, since_s: float | None = None
    ) -> list[Appearance]:
        """Every appearance of an enrolled face (its stored descriptor), newest first."""
        return self.search_descriptor(self.faces.face_descriptor(collection_id, face_id), stream, since_s)

    def thumbnail(self, sighting_id: str) -> bytes:
        with self.db.session() as s:
            row = s.get(SightingRow, sighting_id)
            if row is None or row.thumbnail is None:
                raise NotFoundError(f"sighting {sighting_id} has no thumbnail")
            return bytes(row.thumbnail)

    # -- groups --------------------------------------------------------------------------------------
    def groups(self) -> list[Group]:
        rows = self._rows()
        clusters: list[list[int]] = [[i] for i in range(len(rows))]
        means = [_vectors(r).mean(axis=0) for r in rows]
        while len(clusters) > 1:
            best: tuple[float, int, int] | None = None
            for a in range(len(clusters)):
                for b in range(a + 1, len(clusters)):
                    d = float(
                        np.mean(
                            [np.linalg.norm(means[i] - means[j]) for i in clusters[a] for j in clusters[b]]
                        )
                    )
                    if d <= THRESHOLD_DISTANCE and (best is None or d < best[0]):
                        best = (d, a, b)
            if best is None:
                break
            _, a, b = best
            clusters[a] += clusters.pop(b)
        out = []
        for members in clusters:
            ids = sorted(rows[i].sighting_id for i in members)
            out.append(
                Group(
                    # stable while the members stay: the smallest member's id
                    group_id=ids[0],
                    sighting_ids=ids,
                    first_s=min(rows[i].created_at.timestamp() for i in members),
                    last_s=max(rows[i].created_at.timestamp() for i in members),
                )
            )
        out.sort(key=lambda g: -g.last_s)
        return out

    def enrol(self, group_id: str, collection_id: str, name: str, max_faces: int = 3) -> list[str]:
        """Index the group's best thumbnails into the collection with ExternalImageId `name`."""
        group = next((g for g in self.groups() if g.group_id == group_id), None)
        if group is None:
            raise NotFoundError(f"sighting group {group_id} not found")
        with self.db.session() as s:
            rows = [s.get(SightingRow, i) for i in group.sighting_ids]
            thumbs = [(r.quality, bytes(r.thumbnail)) for r in rows if r is not None and r.thumbnail]
        if not thumbs:
            raise InvalidParameterError(f"sighting group {group_id} has no thumbnail to index")
        face_ids: list[str] = []
        for _, image in sorted(thumbs, key=lambda qt: -qt[0])[:max_faces]:
            result = self.faces.index_faces(collection_id, image, external_image_id=name, max_faces=1)
            face_ids += [rec.face.face_id for rec in result.records]
        return face_ids
