"""Native REST routes of the faces capability (collections, detect, index, search, compare)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.api.rest.uploads import read_image_body, read_images
from videolens.services.auth.models import Role
from videolens.services.errors import InvalidImageError
from videolens.services.faces.models import (
    Collection,
    CompareResult,
    DeleteResult,
    DetectedFaces,
    FaceMatch,
    IndexResult,
    RecognizedFace,
    SearchByImageResult,
    StoredFace,
)

router = APIRouter(prefix="/v1", tags=["faces"])

IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"image": {"type": "string", "format": "binary"}},
                    "required": ["image"],
                }
            },
        },
    }
}
COMPARE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "source": {
                            "type": "string",
                            "format": "binary",
                            "description": "the face to look for",
                        },
                        "target": {
                            "type": "string",
                            "format": "binary",
                            "description": "the image to look in",
                        },
                    },
                    "required": ["source", "target"],
                }
            }
        },
    }
}
Quality = Literal["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"]


class CreateCollectionRequest(BaseModel):
    collection_id: str = Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9_.\-]+$")
    tags: dict[str, str] = Field(default_factory=dict)


class CollectionPage(BaseModel):
    collections: list[Collection]
    next_token: str | None = None


class FacePage(BaseModel):
    faces: list[StoredFace]
    next_token: str | None = None


class DeleteFacesRequest(BaseModel):
    face_ids: list[str] = Field(min_length=1, max_length=4096)


class MatchList(BaseModel):
    searched_face_id: str
    matches: list[FaceMatch]


class RecognizeResult(BaseModel):
    faces: list[RecognizedFace]


class RenamePersonRequest(BaseModel):
    new_external_image_id: str = Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9_.\-:]+$")


class RenamedPerson(BaseModel):
    external_image_id: str
    faces_renamed: int


@router.post(
    "/collections", status_code=201, response_model=Collection, dependencies=[require_role(Role.OPERATOR)]
)
def create_collection(body: CreateCollectionRequest, c: ContainerDep) -> Collection:
    return c.faces.create_collection(body.collection_id, body.tags)


@router.get("/collections", response_model=CollectionPage, dependencies=[require_role(Role.VIEWER)])
def list_collections(
    c: ContainerDep,
    max_results: Annotated[int | None, Query(ge=0, le=4096)] = None,
    next_token: str | None = None,
) -> CollectionPage:
    page, token = c.faces.list_collections(max_results, next_token)
    return CollectionPage(collections=page, next_token=token)


@router.get(
    "/collections/{collection_id}", response_model=Collection, dependencies=[require_role(Role.VIEWER)]
)
def describe_collection(collection_id: str, c: ContainerDep) -> Collection:
    return c.faces.describe_collection(collection_id)


@router.delete("/collections/{collection_id}", status_code=204, dependencies=[require_role(Role.OPERATOR)])
def delete_collection(collection_id: str, c: ContainerDep) -> Response:
    c.faces.delete_collection(collection_id)
    return Response(status_code=204)


@router.post(
    "/faces/detect",
    response_model=DetectedFaces,
    openapi_extra=IMAGE_BODY,
    dependencies=[require_role(Role.VIEWER)],
)
async def detect_faces(
    request: Request, c: ContainerDep, attributes: Literal["DEFAULT", "ALL"] = "DEFAULT"
) -> DetectedFaces:
    image = await read_image_body(request, c.settings.max_image_bytes)
    return await run_in_threadpool(c.faces.detect_faces, image, attributes)


@router.post(
    "/collections/{collection_id}/faces",
    response_model=IndexResult,
    openapi_extra=IMAGE_BODY,
    dependencies=[require_role(Role.OPERATOR)],
)
async def index_faces(
    collection_id: str,
    request: Request,
    c: ContainerDep,
    external_image_id: str | None = None,
    max_faces: Annotated[int | None, Query(ge=1)] = None,
    quality_filter: Quality = "AUTO",
    attributes: Literal["DEFAULT", "ALL"] = "DEFAULT",
) -> IndexResult:
    image = await read_image_body(request, c.settings.max_image_bytes)
    return await run_in_threadpool(
        c.faces.index_faces, collection_id, image, external_image_id, max_faces, quality_filter, attributes
    )


@router.get(
    "/collections/{collection_id}/faces", response_model=FacePage, dependencies=[require_role(Role.VIEWER)]
)
def list_faces(
    collection_id: str,
    c: ContainerDep,
    max_results: Annotated[int | None, Query(ge=0, le=4096)] = None,
    next_token: str | None = None,
) -> FacePage:
    faces, token = c.faces.list_faces(collection_id, max_results, next_token)
    return FacePage(faces=faces, next_token=token)


@router.post(
    "/collections/{collection_id}/faces/delete",
    response_model=DeleteResult,
    dependencies=[require_role(Role.OPERATOR)],
)
def delete_faces(collection_id: str, body: DeleteFacesRequest, c: ContainerDep) -> DeleteResult:
    return c.faces.delete_faces(collection_id, body.face_ids)


@router.delete(
    "/collections/{collection_id}/faces/{face_id}",
    response_model=DeleteResult,
    dependencies=[require_role(Role.OPERATOR)],
)
def delete_face(collection_id: str, face_id: str, c: ContainerDep) -> DeleteResult:
    return c.faces.delete_faces(collection_id, [face_id])


@router.get(
    "/collections/{collection_id}/faces/{face_id}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the face as indexed, at most 128 px"}},
    dependencies=[require_role(Role.VIEWER, signed_url=True)],
)
def face_thumbnail(collection_id: str, face_id: str, c: ContainerDep) -> Response:
    """The small JPEG crop kept when the face was indexed (natively or through the AWS door)."""
    jpeg = c.faces.face_thumbnail(collection_id, face_id)
    # a face id never gets another image: the crop can be cached for as long as the face lives
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@router.post(
    "/collections/{collection_id}/people/{external_image_id}/rename",
    response_model=RenamedPerson,
    dependencies=[require_role(Role.OPERATOR)],
)
def rename_person(
    collection_id: str, external_image_id: str, body: RenamePersonRequest, c: ContainerDep
) -> RenamedPerson:
    """Every face indexed under `external_image_id` gets the new ExternalImageId (a name in use merges)."""
    n = c.faces.rename_person(collection_id, external_image_id, body.new_external_image_id)
    return RenamedPerson(external_image_id=body.new_external_image_id, faces_renamed=n)


@router.get(
    "/collections/{collection_id}/faces/{face_id}/matches",
    response_model=MatchList,
    dependencies=[require_role(Role.VIEWER)],
)
def search_faces(
    collection_id: str,
    face_id: str,
    c: ContainerDep,
    max_faces: Annotated[int, Query(ge=1, le=4096)] = 80,
    threshold: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> MatchList:
    matches = c.faces.search_faces(collection_id, face_id, max_faces, threshold)
    return MatchList(searched_face_id=face_id, matches=matches)


@router.post(
    "/collections/{collection_id}/search",
    response_model=SearchByImageResult,
    openapi_extra=IMAGE_BODY,
    dependencies=[require_role(Role.VIEWER)],
)
async def search_faces_by_image(
    collection_id: str,
    request: Request,
    c: ContainerDep,
    max_faces: Annotated[int, Query(ge=1, le=4096)] = 80,
    threshold: Annotated[float | None, Query(ge=0, le=100)] = None,
    quality_filter: Quality = "NONE",
) -> SearchByImageResult:
    image = await read_image_body(request, c.settings.max_image_bytes)
    return await run_in_threadpool(
        c.faces.search_faces_by_image, collection_id, image, max_faces, threshold, quality_filter
    )


@router.post(
    "/collections/{collection_id}/recognize",
    response_model=RecognizeResult,
    openapi_extra=IMAGE_BODY,
    dependencies=[require_role(Role.VIEWER)],
)
async def recognize_faces(
    collection_id: str,
    request: Request,
    c: ContainerDep,
    max_matches: Annotated[int, Query(ge=1, le=4096)] = 1,
    threshold: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> RecognizeResult:
    image = await read_image_body(request, c.settings.max_image_bytes)
    faces = await run_in_threadpool(c.faces.recognize_faces, collection_id, image, max_matches, threshold)
    return RecognizeResult(faces=faces)


@router.post(
    "/faces/compare",
    response_model=CompareResult,
    openapi_extra=COMPARE_BODY,
    dependencies=[require_role(Role.VIEWER)],
)
async def compare_faces(
    request: Request,
    c: ContainerDep,
    threshold: Annotated[float | None, Query(ge=0, le=100)] = None,
    quality_filter: Quality = "NONE",
) -> CompareResult:
    """Multipart `source` and `target` images; each is refused with 413 at its first byte over the cap."""
    files = await read_images(request, ("source", "target"), c.settings.max_image_bytes)
    missing = [name for name in ("source", "target") if name not in files]
    if missing:
        raise InvalidImageError(f"multipart body lacks the file field(s): {', '.join(missing)}")
    return await run_in_threadpool(
        c.faces.compare_faces, files["source"], files["target"], threshold, quality_filter
    )
