"""Rekognition facade (AWS JSON 1.1): collections and faces. Parse → `container.faces` → encode."""

from __future__ import annotations

import re
from typing import Any

from videolens.api.aws.registry import AwsContext, AwsService
from videolens.api.aws.rekognition_processors import PROCESSOR_HANDLERS
from videolens.api.aws.rekognition_video import VIDEO_HANDLERS
from videolens.services.errors import (
    AlreadyExistsError,
    IdempotencyMismatchError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidObjectError,
    InvalidPaginationTokenError,
    InvalidParameterError,
    NotFoundError,
)
from videolens.services.faces.models import (
    AttributeLevel,
    BoundingBox,
    Collection,
    FaceDetail,
    FaceMatch,
    StoredFace,
)
from videolens.services.live.errors import ProcessorInUseError

#: Rekognition's limits: inline `Bytes` up to 5 MiB (the model says so), S3 images up to 15 MB
MAX_INLINE_IMAGE = 5 * 1024 * 1024
MAX_S3_IMAGE = 15 * 1024 * 1024


def _image(ctx: AwsContext, image: dict[str, Any]) -> bytes:
    if "Bytes" in image:
        data: bytes = image["Bytes"]
        return data
    s3 = image.get("S3Object")
    if not s3 or not s3.get("Bucket") or not s3.get("Name"):
        raise InvalidParameterError("Image must contain Bytes or an S3Object with Bucket and Name")
    stored: bytes = ctx.container.storage.get_object_bytes(
        s3["Bucket"], s3["Name"], MAX_S3_IMAGE, too_large=ImageTooLargeError
    )
    return stored


def _prevalidate(op: str, params: dict[str, Any]) -> None:
    for key in ("Image", "SourceImage", "TargetImage"):
        image = params.get(key)
        blob = image.get("Bytes") if isinstance(image, dict) else None  # a wrong type: validate()
        if isinstance(blob, bytes) and len(blob) > MAX_INLINE_IMAGE:
            raise ImageTooLargeError(f"Image size is too large: {len(blob)} bytes (limit {MAX_INLINE_IMAGE})")


def _attributes(values: list[str] | None) -> AttributeLevel:
    return "ALL" if values and any(v != "DEFAULT" for v in values) else "DEFAULT"


def _arn(ctx: AwsContext, collection_id: str) -> str:
    # AWS's own examples carry no "arn:" prefix here
    return f"aws:rekognition:{ctx.settings.region}:{ctx.account_id}:collection/{collection_id}"


def _index_version(face_model_version: str) -> str:
    """IndexFacesModelVersion must match [0-9.]+; keep the numeric tail of our version string."""
    m = re.search(r"[0-9][0-9.]*$", face_model_version)
    return m.group(0) if m else "1.0"


def _box(b: BoundingBox) -> dict[str, float]:
    return {"Width": b.width, "Height": b.height, "Left": b.left, "Top": b.top}


def _detail(d: FaceDetail) -> dict[str, Any]:
    out: dict[str, Any] = {
        "BoundingBox": _box(d.bounding_box),
        "Confidence": d.confidence,
        "Landmarks": [{"Type": lm.type, "X": lm.x, "Y": lm.y} for lm in d.landmarks],
        "Pose": {"Roll": d.pose.roll, "Yaw": d.pose.yaw, "Pitch": d.pose.pitch},
        "Quality": {"Brightness": d.quality.brightness, "Sharpness": d.quality.sharpness},
    }
    if d.eyes_open is not None:
        out["EyesOpen"] = {"Value": d.eyes_open.value, "Confidence": d.eyes_open.confidence}
    if d.mouth_open is not None:
        out["MouthOpen"] = {"Value": d.mouth_open.value, "Confidence": d.mouth_open.confidence}
    return out


def _compared(d: FaceDetail) -> dict[str, Any]:
    full = _detail(d)
    return {k: full[k] for k in ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality")}


def _face(f: StoredFace, model_version: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "FaceId": f.face_id,
        "BoundingBox": _box(f.bounding_box),
        "ImageId": f.image_id,
        "ExternalImageId": f.external_image_id,
        "Confidence": f.confidence,
    }
    if model_version is not None:
        out["IndexFacesModelVersion"] = _index_version(model_version)
    return out


def _matches(matches: list[FaceMatch], model_version: str) -> list[dict[str, Any]]:
    return [{"Similarity": m.similarity, "Face": _face(m.face, model_version)} for m in matches]


def _collection(ctx: AwsContext, collection_id: str) -> Collection:
    result: Collection = ctx.container.faces.describe_collection(collection_id)
    return result


def create_collection(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    c: Collection = ctx.container.faces.create_collection(p["CollectionId"], p.get("Tags"))
    return {
        "StatusCode": 200,
        "CollectionArn": _arn(ctx, c.collection_id),
        "FaceModelVersion": c.face_model_version,
    }


def delete_collection(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.faces.delete_collection(p["CollectionId"])
    return {"StatusCode": 200}


def list_collections(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    page, token = ctx.container.faces.list_collections(p.get("MaxResults"), p.get("NextToken"))
    return {
        "CollectionIds": [c.collection_id for c in page],
        "FaceModelVersions": [c.face_model_version for c in page],
        "NextToken": token,
    }


def describe_collection(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    c = _collection(ctx, p["CollectionId"])
    return {
        "FaceCount": c.face_count,
        "FaceModelVersion": c.face_model_version,
        "CollectionARN": _arn(ctx, c.collection_id),
        "CreationTimestamp": c.created_at,
        "UserCount": 0,
    }


def detect_faces(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    result = ctx.container.faces.detect_faces(_image(ctx, p["Image"]), _attributes(p.get("Attributes")))
    return {"FaceDetails": [_detail(d) for d in result.faces]}


def index_faces(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    result = ctx.container.faces.index_faces(
        p["CollectionId"],
        _image(ctx, p["Image"]),
        external_image_id=p.get("ExternalImageId"),
        max_faces=p.get("MaxFaces"),
        quality_filter=p.get("QualityFilter", "AUTO"),
        attributes=_attributes(p.get("DetectionAttributes")),
    )
    version = result.face_model_version
    return {
        "FaceRecords": [
            {"Face": _face(r.face, version), "FaceDetail": _detail(r.detail)} for r in result.records
        ],
        "UnindexedFaces": [
            {"Reasons": list(u.reasons), "FaceDetail": _detail(u.detail)} for u in result.unindexed
        ],
        "FaceModelVersion": version,
    }


def list_faces(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    faces, token = ctx.container.faces.list_faces(
        p["CollectionId"], p.get("MaxResults"), p.get("NextToken"), p.get("FaceIds")
    )
    version = _collection(ctx, p["CollectionId"]).face_model_version
    return {"Faces": [_face(f, version) for f in faces], "NextToken": token, "FaceModelVersion": version}


def delete_faces(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    result = ctx.container.faces.delete_faces(p["CollectionId"], p["FaceIds"])
    return {
        "DeletedFaces": result.deleted,
        "UnsuccessfulFaceDeletions": [
            {"FaceId": u.face_id, "Reasons": list(u.reasons)} for u in result.unsuccessful
        ],
    }


def search_faces(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    faces = ctx.container.faces
    matches = faces.search_faces(
        p["CollectionId"], p["FaceId"], p.get("MaxFaces", 80), p.get("FaceMatchThreshold", 80.0)
    )
    version = _collection(ctx, p["CollectionId"]).face_model_version
    return {
        "SearchedFaceId": p["FaceId"],
        "FaceMatches": _matches(matches, version),
        "FaceModelVersion": version,
    }


def search_faces_by_image(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    result = ctx.container.faces.search_faces_by_image(
        p["CollectionId"],
        _image(ctx, p["Image"]),
        p.get("MaxFaces", 80),
        p.get("FaceMatchThreshold", 80.0),
        p.get("QualityFilter", "NONE"),
    )
    version = _collection(ctx, p["CollectionId"]).face_model_version
    return {
        "SearchedFaceBoundingBox": _box(result.searched_face.bounding_box),
        "SearchedFaceConfidence": result.searched_face.confidence,
        "FaceMatches": _matches(result.matches, version),
        "FaceModelVersion": version,
    }


def compare_faces(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    result = ctx.container.faces.compare_faces(
        _image(ctx, p["SourceImage"]),
        _image(ctx, p["TargetImage"]),
        p.get("SimilarityThreshold", 80.0),
        p.get("QualityFilter", "NONE"),
    )
    return {
        "SourceImageFace": {
            "BoundingBox": _box(result.source_face.bounding_box),
            "Confidence": result.source_face.confidence,
        },
        "FaceMatches": [{"Similarity": m.similarity, "Face": _compared(m.face)} for m in result.matches],
        "UnmatchedFaces": [_compared(d) for d in result.unmatched],
    }


SERVICE = AwsService(
    model_name="rekognition",
    handlers={
        "CreateCollection": create_collection,
        "DeleteCollection": delete_collection,
        "ListCollections": list_collections,
        "DescribeCollection": describe_collection,
        "IndexFaces": index_faces,
        "ListFaces": list_faces,
        "DeleteFaces": delete_faces,
        "SearchFaces": search_faces,
        "SearchFacesByImage": search_faces_by_image,
        "DetectFaces": detect_faces,
        "CompareFaces": compare_faces,
        **VIDEO_HANDLERS,  # stored-video jobs (rekognition_video.py)
        **PROCESSOR_HANDLERS,  # stream processors (rekognition_processors.py)
    },
    error_map={
        NotFoundError: "ResourceNotFoundException",
        ProcessorInUseError: "ResourceInUseException",
        AlreadyExistsError: "ResourceAlreadyExistsException",
        InvalidParameterError: "InvalidParameterException",
        InvalidImageError: "InvalidImageFormatException",
        ImageTooLargeError: "ImageTooLargeException",
        InvalidPaginationTokenError: "InvalidPaginationTokenException",
        InvalidObjectError: "InvalidS3ObjectException",
        IdempotencyMismatchError: "IdempotentParameterMismatchException",
    },
    validation_error="InvalidParameterException",
    internal_error="InternalServerError",
    prevalidate=_prevalidate,
)
