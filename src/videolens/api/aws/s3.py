"""S3 facade (rest-xml, path-style): buckets, objects with Range, ListObjectsV2, multipart uploads.

Parse → `container.storage` → encode. Object bodies stream from `ctx.body` (aws-chunked framing
already removed, SHA-256 / CRC checked at the end) straight into the blob store.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from videolens.api.aws.errors import AwsError
from videolens.api.aws.registry import AwsContext, AwsService
from videolens.services.errors import AlreadyExistsError, InvalidParameterError, NotFoundError
from videolens.services.storage.errors import (
    BucketNotEmptyError,
    EntityTooSmallError,
    InvalidBucketNameError,
    InvalidKeyError,
    InvalidPartError,
    InvalidPartOrderError,
    InvalidRangeError,
    NoSuchBucketError,
    NoSuchKeyError,
    NoSuchUploadError,
    PreconditionFailedError,
)
from videolens.services.storage.models import ObjectInfo

#: flexible-checksum header → output member
_CHECKSUM_MEMBERS = {
    "x-amz-checksum-crc32": "ChecksumCRC32",
    "x-amz-checksum-crc32c": "ChecksumCRC32C",
    "x-amz-checksum-crc64nvme": "ChecksumCRC64NVME",
    "x-amz-checksum-sha1": "ChecksumSHA1",
    "x-amz-checksum-sha256": "ChecksumSHA256",
}


def _body(ctx: AwsContext, content_md5: str | None) -> Iterator[bytes]:
    """The request body, checked against Content-MD5 before the storage service commits it."""
    if ctx.body is None:
        return
    md5 = hashlib.md5(usedforsecurity=False) if content_md5 else None
    for chunk in ctx.body:
        if md5 is not None:
            md5.update(chunk)
        yield chunk
    if md5 is not None and base64.b64encode(md5.digest()).decode() != content_md5:
        raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.")


def _checksums(ctx: AwsContext) -> dict[str, str]:
    return dict(ctx.body.checksums) if ctx.body is not None else {}


def _checksum_members(checksums: dict[str, str]) -> dict[str, str]:
    return {_CHECKSUM_MEMBERS[k]: v for k, v in checksums.items() if k in _CHECKSUM_MEMBERS}


def create_bucket(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.storage.create_bucket(p["Bucket"])
    return {"Location": f"/{p['Bucket']}"}


def delete_bucket(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.storage.delete_bucket(p["Bucket"])
    return {}


def head_bucket(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.storage.head_bucket(p["Bucket"])
    return {"BucketRegion": ctx.settings.region}


def list_buckets(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    buckets = ctx.container.storage.list_buckets()
    prefix = p.get("Prefix") or ""
    return {
        "Buckets": [
            {"Name": b.name, "CreationDate": b.created_at, "BucketRegion": ctx.settings.region}
            for b in buckets
            if b.name.startswith(prefix)
        ],
        "Owner": {"ID": ctx.account_id, "DisplayName": "videolens"},
    }


def put_object(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    info: ObjectInfo = ctx.container.storage.put_object(
        p["Bucket"],
        p["Key"],
        _body(ctx, p.get("ContentMD5")),
        content_type=p.get("ContentType"),
        metadata=p.get("Metadata"),
        content_encoding=ctx.body.content_encoding if ctx.body is not None else None,
        checksums=lambda: _checksums(ctx),
    )
    return {"ETag": info.etag, **_checksum_members(info.checksums)}


def _object_headers(info: ObjectInfo) -> dict[str, Any]:
    return {
        "AcceptRanges": "bytes",
        "LastModified": info.last_modified,
        "ContentLength": info.size,
        "ETag": info.etag,
        "ContentType": info.content_type,
        "ContentEncoding": info.content_encoding,
        "Metadata": info.metadata or None,
    }


def get_object(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    info, byte_range, chunks = ctx.container.storage.read_object(
        p["Bucket"], p["Key"], p.get("Range"), p.get("IfMatch")
    )
    out = _object_headers(info)
    if byte_range is not None:
        start, end = byte_range
        ctx.status = 206
        out["ContentRange"] = f"bytes {start}-{end - 1}/{info.size}"
        out["ContentLength"] = end - start
    out["Body"] = chunks
    return out


def head_object(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    info: ObjectInfo = ctx.container.storage.head_object(p["Bucket"], p["Key"], p.get("IfMatch"))
    return _object_headers(info)


def delete_object(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.storage.delete_object(p["Bucket"], p["Key"])
    return {}


def _contents(
    objects: list[ObjectInfo], key_text: Callable[[str], str | None]
) -> list[dict[str, Any]] | None:
    """The `Contents` of both ListObjects versions (None when empty, so the element is left out)."""
    return [
        {
            "Key": key_text(o.key),
            "LastModified": o.last_modified,
            "ETag": o.etag,
            "Size": o.size,
            "StorageClass": "STANDARD",
        }
        for o in objects
    ] or None


def list_objects_v2(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    max_keys = p.get("MaxKeys", 1000)
    listing = ctx.container.storage.list_objects(
        p["Bucket"],
        prefix=p.get("Prefix") or "",
        delimiter=p.get("Delimiter") or None,
        max_keys=max_keys,
        continuation_token=p.get("ContinuationToken"),
        start_after=p.get("StartAfter"),
    )
    # boto3 asks for encoding-type=url and decodes names only when we echo EncodingType
    url = p.get("EncodingType") == "url"

    def enc(value: str | None) -> str | None:
        return urllib.parse.quote(value, safe="/~") if url and value is not None else value

    return {
        "Name": p["Bucket"],
        "Prefix": enc(p.get("Prefix") or ""),
        "Delimiter": enc(p.get("Delimiter")),
        "MaxKeys": max_keys,
        "KeyCount": len(listing.objects) + len(listing.common_prefixes),
        "IsTruncated": listing.is_truncated,
        "Contents": _contents(listing.objects, enc),
        "CommonPrefixes": [{"Prefix": enc(cp)} for cp in listing.common_prefixes] or None,
        "ContinuationToken": p.get("ContinuationToken"),
        "NextContinuationToken": listing.next_token,
        "StartAfter": enc(p.get("StartAfter")),
        "EncodingType": "url" if url else None,
    }


def list_objects(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListObjects (v1, marker based), still used by older tools."""
    max_keys = p.get("MaxKeys", 1000)
    listing = ctx.container.storage.list_objects(
        p["Bucket"],
        prefix=p.get("Prefix") or "",
        delimiter=p.get("Delimiter") or None,
        max_keys=max_keys,
        start_after=p.get("Marker"),
    )
    last = max([o.key for o in listing.objects] + listing.common_prefixes, default=None)
    return {
        "Name": p["Bucket"],
        "Prefix": p.get("Prefix") or "",
        "Delimiter": p.get("Delimiter"),
        "Marker": p.get("Marker") or "",
        "MaxKeys": max_keys,
        "IsTruncated": listing.is_truncated,
        "NextMarker": last if listing.is_truncated else None,
        "Contents": _contents(listing.objects, lambda key: key),
        "CommonPrefixes": [{"Prefix": cp} for cp in listing.common_prefixes] or None,
    }


def delete_objects(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    """Batch delete (`aws s3 rm --recursive`); per-key failures are reported, not raised."""
    request = p.get("Delete") or {}
    deleted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for item in request.get("Objects") or []:
        key = item.get("Key", "")
        try:
            ctx.container.storage.delete_object(p["Bucket"], key)
            deleted.append({"Key": key})
        except NoSuchBucketError:
            raise
        except (InvalidParameterError, NotFoundError) as exc:
            errors.append({"Key": key, "Code": "InvalidArgument", "Message": exc.message})
    return {"Deleted": None if request.get("Quiet") else deleted or None, "Errors": errors or None}


def get_bucket_location(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.storage.head_bucket(p["Bucket"])
    # an empty LocationConstraint means us-east-1, like S3; other regions are named
    region = str(ctx.settings.region)
    return {"LocationConstraint": None if region == "us-east-1" else region}


def create_multipart_upload(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    upload = ctx.container.storage.create_multipart_upload(
        p["Bucket"], p["Key"], content_type=p.get("ContentType"), metadata=p.get("Metadata")
    )
    return {
        "Bucket": upload.bucket,
        "Key": upload.key,
        "UploadId": upload.upload_id,
        "ChecksumAlgorithm": p.get("ChecksumAlgorithm"),
    }


def upload_part(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    part = ctx.container.storage.upload_part(
        p["Bucket"], p["Key"], p["UploadId"], p["PartNumber"], _body(ctx, p.get("ContentMD5"))
    )
    return {"ETag": part.etag, **_checksum_members(_checksums(ctx))}


def complete_multipart_upload(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    parts: Iterable[dict[str, Any]] = (p.get("MultipartUpload") or {}).get("Parts") or []
    wanted = []
    for part in parts:
        if "PartNumber" not in part or "ETag" not in part:
            raise AwsError("MalformedXML", "Each Part needs a PartNumber and an ETag")
        wanted.append((int(part["PartNumber"]), str(part["ETag"])))
    if not wanted:
        raise AwsError("MalformedXML", "The XML you provided did not list any part")
    info = ctx.container.storage.complete_multipart_upload(p["Bucket"], p["Key"], p["UploadId"], wanted)
    return {
        "Location": f"{ctx.base_url}/{p['Bucket']}/{urllib.parse.quote(p['Key'], safe='/~')}",
        "Bucket": info.bucket,
        "Key": info.key,
        "ETag": info.etag,
    }


def abort_multipart_upload(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.storage.abort_multipart_upload(p["Bucket"], p["Key"], p["UploadId"])
    return {}


SERVICE = AwsService(
    model_name="s3",
    handlers={
        "CreateBucket": create_bucket,
        "DeleteBucket": delete_bucket,
        "HeadBucket": head_bucket,
        "ListBuckets": list_buckets,
        "PutObject": put_object,
        "GetObject": get_object,
        "HeadObject": head_object,
        "DeleteObject": delete_object,
        "ListObjectsV2": list_objects_v2,
        "ListObjects": list_objects,
        "DeleteObjects": delete_objects,
        "GetBucketLocation": get_bucket_location,
        "CreateMultipartUpload": create_multipart_upload,
        "UploadPart": upload_part,
        "CompleteMultipartUpload": complete_multipart_upload,
        "AbortMultipartUpload": abort_multipart_upload,
    },
    error_map={
        NoSuchBucketError: ("NoSuchBucket", 404),
        NoSuchKeyError: ("NoSuchKey", 404),
        NoSuchUploadError: ("NoSuchUpload", 404),
        NotFoundError: ("NoSuchKey", 404),
        AlreadyExistsError: ("BucketAlreadyOwnedByYou", 409),
        BucketNotEmptyError: ("BucketNotEmpty", 409),
        InvalidBucketNameError: ("InvalidBucketName", 400),
        InvalidKeyError: ("InvalidArgument", 400),
        InvalidPartError: ("InvalidPart", 400),
        InvalidPartOrderError: ("InvalidPartOrder", 400),
        EntityTooSmallError: ("EntityTooSmall", 400),
        PreconditionFailedError: ("PreconditionFailed", 412),
        InvalidRangeError: ("InvalidRange", 416),
        InvalidParameterError: ("InvalidArgument", 400),
    },
    validation_error="InvalidArgument",
    internal_error="InternalError",
)
