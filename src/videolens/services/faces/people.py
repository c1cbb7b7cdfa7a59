"""People of a collection (faces sharing an ExternalImageId): rename one, read a face's thumbnail."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.faces import CollectionRow, FaceRow
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.faces.records import EXTERNAL_ID_RE, check_collection_id, check_face_id
from videolens.services.faces.thumbnails import FaceThumbnails


def _require_collection(s: Session, collection_id: str) -> None:
    if (
        s.scalar(select(CollectionRow.collection_id).where(CollectionRow.collection_id == collection_id))
        is None
    ):
        raise NotFoundError(f"collection {collection_id!r} does not exist")


def rename_person(
    db: Database, collection_id: str, external_image_id: str, new_external_image_id: str
) -> int:
    """Give every face of a person another ExternalImageId; the number of faces renamed.

    Renaming onto a name already in use merges the two people, as indexing under that name would. The
    embeddings do not change, so the vector version (and every node's in-memory index) stays as it is.
    """
    check_collection_id(collection_id)
    for value in (external_image_id, new_external_image_id):
        if not EXTERNAL_ID_RE.match(value):
            raise InvalidParameterError("ExternalImageId must match [a-zA-Z0-9_.\\-:]{1,255}")
    with db.session() as s:
        _require_collection(s, collection_id)
        result = s.execute(
            update(FaceRow)
            .where(FaceRow.collection_id == collection_id, FaceRow.external_image_id == external_image_id)
            .values(external_image_id=new_external_image_id)
        )
        renamed = int(getattr(result, "rowcount", 0) or 0)
    if renamed == 0:
        raise NotFoundError(f"nobody is named {external_image_id!r} in collection {collection_id!r}")
    return renamed


def face_thumbnail(
    db: Database, thumbnails: FaceThumbnails | None, collection_id: str, face_id: str
) -> bytes:
    """The JPEG crop stored when the face was indexed."""
    check_collection_id(collection_id)
    check_face_id(face_id)
    with db.session() as s:
        _require_collection(s, collection_id)
        known = s.scalar(
            select(FaceRow.face_id).where(FaceRow.collection_id == collection_id, FaceRow.face_id == face_id)
        )
    if known is None:
        raise NotFoundError(f"face {face_id} is not in collection {collection_id!r}")
    jpeg = thumbnails.read(face_id) if thumbnails is not None else None
    if jpeg is None:
        raise NotFoundError(f"face {face_id} has no thumbnail (it was indexed before thumbnails were kept)")
    return jpeg
