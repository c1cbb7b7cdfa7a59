"""The faces capability: collections, index / list / delete faces, search, recognise and compare."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from videolens.backends.blobs.base import BlobStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.faces import CollectionRow, FaceRow, FaceTombstoneRow
from videolens.runtime.settings import Settings
from videolens.services.errors import AlreadyExistsError, InvalidParameterError, NotFoundError
from videolens.services.faces.analysis import FaceAnalysis, largest_first
from videolens.services.faces.compare import compare_faces
from videolens.services.faces.models import (
    AttributeLevel,
    Collection,
    CompareResult,
    DeleteResult,
    DetectedFaces,
    FaceMatch,
    FaceRecord,
    IndexResult,
    QualityFilter,
    RecognizedFace,
    SearchByImageResult,
    StoredFace,
    UnindexedFace,
    UnsuccessfulDeletion,
)
from videolens.services.faces.people import face_thumbnail, rename_person
from videolens.services.faces.quality import quality_reasons
from videolens.services.faces.records import (
    EXTERNAL_ID_RE,
    FACE_MODEL_VERSION,
    MAX_PAGE,
    bump_version,
    check_collection_id,
    check_face_id,
    check_quality_filter,
    check_threshold,
    collection_record,
    face_row,
    page_size,
    similarity,
    stored_face,
)
from videolens.services.faces.thumbnails import FaceThumbnails
from videolens.services.faces.vector_cache import VectorCache, prune_tombstones
from videolens.services.pagination import decode_token, encode_token
from videolens.vision.models import ModelRegistry
from videolens.vision.similarity import distance_from_similarity


class FacesService:
    def __init__(
        self, settings: Settings, db: Database, models: ModelRegistry, blobs: BlobStore | None = None
    ) -> None:
        self.settings = settings
        self.db = db
        # without a blob store (a bare service in a script) faces are indexed without thumbnails
        self.thumbnails = FaceThumbnails(blobs) if blobs is not None else None
        self.analysis = FaceAnalysis(settings, models)
        self.vectors = VectorCache(db)

    # ---------------------------------------------------------------- collections
    def create_collection(self, collection_id: str, tags: dict[str, str] | None = None) -> Collection:
        check_collection_id(collection_id)
        with self.db.session() as s:
            if s.get(CollectionRow, collection_id) is not None:
                raise AlreadyExistsError(f"collection {collection_id!r} already exists")
            row = CollectionRow(
                collection_id=collection_id,
                created_at=datetime.now(UTC),
                face_model_version=FACE_MODEL_VERSION,
                tags=dict(tags or {}),
                # a random start: a deleted and re-created collection must not reuse version numbers that
                # another process may still hold in its vector cache (it would serve the old faces)
                version=secrets.randbelow(2**30),
            )
            s.add(row)
            return collection_record(row, 0)

    def delete_collection(self, collection_id: str) -> None:
        check_collection_id(collection_id)
        with self.db.session() as s:
            row = self._collection_row(s, collection_id)
            face_ids = list(s.scalars(select(FaceRow.face_id).where(FaceRow.collection_id == collection_id)))
            s.execute(delete(FaceRow).where(FaceRow.collection_id == collection_id))
            s.execute(delete(FaceTombstoneRow).where(FaceTombstoneRow.collection_id == collection_id))
            s.delete(row)
        self.vectors.drop(collection_id)
        if self.thumbnails is not None:
            self.thumbnails.delete(face_ids)

    def describe_collection(self, collection_id: str) -> Collection:
        check_collection_id(collection_id)
        with self.db.session() as s:
            row = self._collection_row(s, collection_id)
            count = s.scalar(select(func.count()).where(FaceRow.collection_id == collection_id)) or 0
            return collection_record(row, int(count))

    def list_collections(
        self, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[Collection], str | None]:
        limit = page_size(max_results)
        after = str(decode_token("collections", next_token)["after"]) if next_token else None
        with self.db.session() as s:
            q = select(CollectionRow).order_by(CollectionRow.collection_id).limit(limit + 1)
            if after is not None:
                q = q.where(CollectionRow.collection_id > after)
            rows = list(s.scalars(q))
            counts = dict(
                s.execute(
                    select(FaceRow.collection_id, func.count())
                    .where(FaceRow.collection_id.in_([r.collection_id for r in rows[:limit]]))
                    .group_by(FaceRow.collection_id)
                ).all()
            )
        page = [collection_record(r, int(counts.get(r.collection_id, 0))) for r in rows[:limit]]
        token = encode_token("collections", {"after": page[-1].collection_id}) if len(rows) > limit else None
        return page, token

    # ---------------------------------------------------------------- detection
    def detect_faces(self, image: bytes, attributes: AttributeLevel = "DEFAULT") -> DetectedFaces:
        analysed = self.analysis.analyse(image, attributes)
        return DetectedFaces(analysed.width, analysed.height, analysed.details)

    # ---------------------------------------------------------------- indexing
    def index_faces(
        self,
        collection_id: str,
        image: bytes,
        external_image_id: str | None = None,
        max_faces: int | None = None,
        quality_filter: QualityFilter = "AUTO",
        attributes: AttributeLevel = "DEFAULT",
    ) -> IndexResult:
        check_collection_id(collection_id)
        if external_image_id is not None and not EXTERNAL_ID_RE.match(external_image_id):
            raise InvalidParameterError("ExternalImageId must match [a-zA-Z0-9_.\\-:]{1,255}")
        if max_faces is not None and max_faces < 1:
            raise InvalidParameterError("MaxFaces must be at least 1")
        check_quality_filter(quality_filter)
        self.describe_collection(collection_id)  # fail fast before running the models
        analysed = self.analysis.analyse(image, attributes)

        accepted: list[int] = []
        unindexed: list[UnindexedFace] = []
        for i in largest_first(analysed):
            detail = analysed.details[i]
            reasons = quality_reasons(detail, analysed.width, analysed.height, quality_filter)
            if not reasons and max_faces is not None and len(accepted) >= max_faces:
                reasons = ["EXCEEDS_MAX_FACES"]
            if reasons:
                unindexed.append(UnindexedFace(reasons, detail))
            else:
                accepted.append(i)

        embeddings = self.analysis.embed(analysed.image, [analysed.detections[i] for i in accepted])
        image_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        face_ids = [str(uuid.uuid4()) for _ in accepted]
        if self.thumbnails is not None:
            # before the rows commit: a listed face always has its thumbnail (a failed insert leaves
            # an orphan crop keyed by a face id nobody knows, which is harmless)
            self.thumbnails.store(
                analysed.image,
                [(fid, analysed.details[i].bounding_box) for fid, i in zip(face_ids, accepted, strict=True)],
            )
        records: list[FaceRecord] = []
        with self.db.session() as s:
            # the bump comes first: it takes the collection's write lock, so seq and version are ours
            version = bump_version(s, collection_id) if accepted else 0
            seq = s.scalar(select(func.max(FaceRow.seq)).where(FaceRow.collection_id == collection_id))
            next_seq = (seq or 0) + 1
            for n, i in enumerate(accepted):
                detail = analysed.details[i]
                face = StoredFace(
                    face_id=face_ids[n],
                    image_id=image_id,
                    external_image_id=external_image_id,
                    bounding_box=detail.bounding_box,
                    confidence=detail.confidence,
                    collection_id=collection_id,
                )
                s.add(face_row(face, next_seq + n, embeddings[n], now, version))
                records.append(FaceRecord(face, detail))
        return IndexResult(records, unindexed, FACE_MODEL_VERSION)

    def list_faces(
        self,
        collection_id: str,
        max_results: int | None = None,
        next_token: str | None = None,
        face_ids: list[str] | None = None,
    ) -> tuple[list[StoredFace], str | None]:
        check_collection_id(collection_id)
        limit = page_size(max_results)
        after = int(decode_token("faces", next_token).get("seq", 0)) if next_token else 0
        with self.db.session() as s:
            self._collection_row(s, collection_id)
            q = (
                select(FaceRow)
                .where(FaceRow.collection_id == collection_id, FaceRow.seq > after)
                .order_by(FaceRow.seq)
                .limit(limit + 1)
            )
            if face_ids:
                q = q.where(FaceRow.face_id.in_(face_ids))
            rows = list(s.scalars(q))
        page = rows[:limit]
        token = encode_token("faces", {"seq": page[-1].seq}) if len(rows) > limit else None
        return [stored_face(r) for r in page], token

    def delete_faces(self, collection_id: str, face_ids: list[str]) -> DeleteResult:
        check_collection_id(collection_id)
        if not face_ids or len(face_ids) > MAX_PAGE:
            raise InvalidParameterError("FaceIds must hold 1 to 4096 face ids")
        for fid in face_ids:
            check_face_id(fid)
        with self.db.session() as s:
            self._collection_row(s, collection_id)
            found = set(
                s.scalars(
                    select(FaceRow.face_id).where(
                        FaceRow.collection_id == collection_id, FaceRow.face_id.in_(face_ids)
                    )
                )
            )
            if found:
                version = bump_version(s, collection_id)
                # under the lock now: a concurrent delete of the same faces may have won, so keep what
                # this transaction really deleted, and leave a tombstone for other nodes' caches
                found = set(
                    s.scalars(
                        delete(FaceRow)
                        .where(FaceRow.collection_id == collection_id, FaceRow.face_id.in_(found))
                        .returning(FaceRow.face_id)
                        .execution_options(synchronize_session=False)
                    )
                )
                s.add_all(
                    FaceTombstoneRow(collection_id=collection_id, version=version, face_id=f) for f in found
                )
                prune_tombstones(s, collection_id, version)
        deleted = [f for f in dict.fromkeys(face_ids) if f in found]
        missing = [
            UnsuccessfulDeletion(f, ["FACE_NOT_FOUND"]) for f in dict.fromkeys(face_ids) if f not in found
        ]
        if found and self.thumbnails is not None:
            self.thumbnails.delete(list(found))
        return DeleteResult(deleted, missing)

    def rename_person(self, collection_id: str, external_image_id: str, new_external_image_id: str) -> int:
        """Give every face of a person (an ExternalImageId) another one; the number of faces renamed."""
        return rename_person(self.db, collection_id, external_image_id, new_external_image_id)

    def face_thumbnail(self, collection_id: str, face_id: str) -> bytes:
        """The JPEG crop stored when the face was indexed."""
        return face_thumbnail(self.db, self.thumbnails, collection_id, face_id)

    # ---------------------------------------------------------------- search
    def search_embedding(
        self, collection_id: str, embedding: np.ndarray, max_faces: int = 80, threshold: float | None = None
    ) -> list[FaceMatch]:
        """Nearest stored faces of one descriptor, most similar first, at or above `threshold`."""
        return self.search_embeddings(collection_id, [embedding], max_faces, threshold)[0]

    def search_embeddings(
        self,
        collection_id: str,
        embeddings: list[np.ndarray] | np.ndarray,
        max_faces: int = 80,
        threshold: float | None = None,
    ) -> list[list[FaceMatch]]:
        """`search_embedding` for several descriptors at once: two queries in all, not two per face."""
        check_collection_id(collection_id)
        threshold = self.settings.face_match_threshold if threshold is None else threshold
        check_threshold(threshold)
        if max_faces < 1 or max_faces > MAX_PAGE:
            raise InvalidParameterError("MaxFaces must be between 1 and 4096")
        try:
            with self.db.session() as s:
                row = self._collection_row(s, collection_id)
                epoch, version, floor = row.created_at.isoformat(), row.version, row.tombstones_from
        except NotFoundError:
            self.vectors.drop(collection_id)  # deleted, perhaps on another node: free its vectors
            raise
        index = self.vectors.get(collection_id, epoch, version, floor)
        max_distance = distance_from_similarity(threshold) if threshold > 0 else float("inf")
        hits = [
            [(fid, d) for fid, d in index.search(embedding, max_faces) if d <= max_distance]
            for embedding in embeddings
        ]
        wanted = {fid for found in hits for fid, _ in found}
        rows: dict[str, FaceRow] = {}
        if wanted:
            with self.db.session() as s:
                rows = {r.face_id: r for r in s.scalars(select(FaceRow).where(FaceRow.face_id.in_(wanted)))}
        return [
            [
                FaceMatch(similarity=similarity(d), face=stored_face(rows[fid]))
                for fid, d in found
                if fid in rows
            ]
            for found in hits
        ]

    def face_descriptor(self, collection_id: str, face_id: str) -> np.ndarray:
        """The stored descriptor of one face (the sightings index searches with it)."""
        check_collection_id(collection_id)
        check_face_id(face_id)
        with self.db.session() as s:
            self._collection_row(s, collection_id)
            row = s.scalar(
                select(FaceRow).where(FaceRow.collection_id == collection_id, FaceRow.face_id == face_id)
            )
            if row is None:
                raise InvalidParameterError(f"face {face_id} is not in collection {collection_id!r}")
            return np.frombuffer(row.embedding, dtype="<f4").copy()

    def search_faces(
        self, collection_id: str, face_id: str, max_faces: int = 80, threshold: float | None = None
    ) -> list[FaceMatch]:
        check_collection_id(collection_id)
        check_face_id(face_id)
        with self.db.session() as s:
            self._collection_row(s, collection_id)
            row = s.scalar(
                select(FaceRow).where(FaceRow.collection_id == collection_id, FaceRow.face_id == face_id)
            )
            if row is None:
                raise InvalidParameterError(f"face {face_id} is not in collection {collection_id!r}")
            embedding = np.frombuffer(row.embedding, dtype="<f4")
        matches = self.search_embedding(collection_id, embedding, min(max_faces + 1, MAX_PAGE), threshold)
        return [m for m in matches if m.face.face_id != face_id][:max_faces]

    def search_faces_by_image(
        self,
        collection_id: str,
        image: bytes,
        max_faces: int = 80,
        threshold: float | None = None,
        quality_filter: QualityFilter = "NONE",
    ) -> SearchByImageResult:
        check_collection_id(collection_id)
        check_quality_filter(quality_filter)
        self.describe_collection(collection_id)
        analysed = self.analysis.analyse(image)
        order = largest_first(analysed)
        if not order:
            raise InvalidParameterError("there are no faces in the image")
        i = order[0]
        if quality_reasons(analysed.details[i], analysed.width, analysed.height, quality_filter):
            raise InvalidParameterError("the largest face in the image is below the quality filter")
        embedding = self.analysis.embed(analysed.image, [analysed.detections[i]])[0]
        matches = self.search_embedding(collection_id, embedding, max_faces, threshold)
        return SearchByImageResult(analysed.details[i], matches)

    def recognize_faces(
        self, collection_id: str, image: bytes, max_matches: int = 1, threshold: float | None = None
    ) -> list[RecognizedFace]:
        """Every face of the image, largest first, each with its best matches in the collection."""
        check_collection_id(collection_id)
        self.describe_collection(collection_id)
        analysed = self.analysis.analyse(image)
        order = largest_first(analysed)
        embeddings = self.analysis.embed(analysed.image, [analysed.detections[i] for i in order])
        matches = self.search_embeddings(collection_id, embeddings, max_matches, threshold)
        return [RecognizedFace(analysed.details[i], matches[n]) for n, i in enumerate(order)]

    def compare_faces(
        self,
        source: bytes,
        target: bytes,
        threshold: float | None = None,
        quality_filter: QualityFilter = "NONE",
    ) -> CompareResult:
        threshold = self.settings.face_match_threshold if threshold is None else threshold
        return compare_faces(self.analysis, source, target, threshold, quality_filter)

    # ---------------------------------------------------------------- helpers
    def _collection_row(self, s: Session, collection_id: str) -> CollectionRow:
        row = s.scalar(select(CollectionRow).where(CollectionRow.collection_id == collection_id))
        if row is None:
            raise NotFoundError(f"collection {collection_id!r} does not exist")
        return row
