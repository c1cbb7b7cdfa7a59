"""S3 facade and storage capability: listing, ranges, metadata, multipart, aws-chunked bodies, native REST."""

from __future__ import annotations

import base64
import hashlib
import os
import urllib.parse
import zlib
from pathlib import Path
from typing import Any

import botocore.httpchecksum
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import ClientFactory
from tests.conftest import RunningServer
from videolens.services.errors import InvalidObjectError

MiB = 1024 * 1024


def test_put_get_head_metadata_and_ranges(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="videos")
    assert s3.head_bucket(Bucket="videos")["ResponseMetadata"]["HTTPStatusCode"] == 200
    put = s3.put_object(
        Bucket="videos",
        Key="in/clip 1.mp4",
        Body=b"hello video",
        ContentType="video/mp4",
        Metadata={"camera": "door"},
    )
    assert put["ETag"] == '"14ed6fa05e725f73a09f965d298491bf"'
    assert put["ChecksumCRC32"] == "S/ra6g=="  # what boto3 sent, verified and echoed
    assert len(put["ResponseMetadata"]["RequestId"]) == 36  # from x-amz-request-id
    head = s3.head_object(Bucket="videos", Key="in/clip 1.mp4")
    assert (head["ContentLength"], head["ContentType"], head["Metadata"]) == (
        11,
        "video/mp4",
        {"camera": "door"},
    )
    assert head["ETag"] == put["ETag"] and head["AcceptRanges"] == "bytes"
    got = s3.get_object(Bucket="videos", Key="in/clip 1.mp4")
    assert got["Body"].read() == b"hello video"
    part = s3.get_object(Bucket="videos", Key="in/clip 1.mp4", Range="bytes=6-")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert (part["Body"].read(), part["ContentRange"], part["ContentLength"]) == (
        b"video",
        "bytes 6-10/11",
        5,
    )
    tail = s3.get_object(Bucket="videos", Key="in/clip 1.mp4", Range="bytes=-3")
    assert tail["Body"].read() == b"deo"
    s3.put_object(Bucket="videos", Key="in/clip 1.mp4", Body=b"replaced")
    assert s3.get_object(Bucket="videos", Key="in/clip 1.mp4")["Body"].read() == b"replaced"
    s3.delete_object(Bucket="videos", Key="in/clip 1.mp4")
    s3.delete_object(Bucket="videos", Key="in/clip 1.mp4")  # idempotent, like S3
    s3.delete_bucket(Bucket="videos")
    assert s3.list_buckets()["Buckets"] == []


def test_list_objects_v2_prefix_delimiter_and_pages(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="media")
    keys = ["a.txt", "cam/1/x.mkv", "cam/1/y.mkv", "cam/2/z.mkv", "cam/top.txt", "d+e f.txt", "zz/é.txt"]
    for key in keys:
        s3.put_object(Bucket="media", Key=key, Body=key.encode())
    listed = s3.list_objects_v2(Bucket="media")
    assert [o["Key"] for o in listed["Contents"]] == sorted(keys)
    assert listed["KeyCount"] == len(keys) and listed["IsTruncated"] is False
    level = s3.list_objects_v2(Bucket="media", Prefix="cam/", Delimiter="/")
    assert [o["Key"] for o in level["Contents"]] == ["cam/top.txt"]
    assert [p["Prefix"] for p in level["CommonPrefixes"]] == ["cam/1/", "cam/2/"]
    root = s3.list_objects_v2(Bucket="media", Delimiter="/")
    assert [p["Prefix"] for p in root["CommonPrefixes"]] == ["cam/", "zz/"]
    assert [o["Key"] for o in root["Contents"]] == ["a.txt", "d+e f.txt"]
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(Bucket="media", PaginationConfig={"PageSize": 2})
    )
    assert len(pages) == 4
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == sorted(keys)
    grouped = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket="media", Delimiter="/", PaginationConfig={"PageSize": 1}
        )
    )
    seen = [(o["Key"]) for p in grouped for o in p.get("Contents", [])] + [
        c["Prefix"] for p in grouped for c in p.get("CommonPrefixes", [])
    ]
    assert sorted(seen) == ["a.txt", "cam/", "d+e f.txt", "zz/"]
    after = s3.list_objects_v2(Bucket="media", StartAfter="cam/2/z.mkv")
    assert [o["Key"] for o in after["Contents"]] == ["cam/top.txt", "d+e f.txt", "zz/é.txt"]
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="media", ContinuationToken="!!bogus!!")
    assert exc.value.response["Error"]["Code"] == "InvalidArgument"


def test_multipart_upload_complete_and_errors(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="big")
    first, second = os.urandom(5 * MiB), os.urandom(1000)
    up = s3.create_multipart_upload(
        Bucket="big", Key="f.bin", ContentType="application/x-test", Metadata={"k": "v"}
    )
    e2 = s3.upload_part(Bucket="big", Key="f.bin", UploadId=up["UploadId"], PartNumber=2, Body=second)["ETag"]
    e1 = s3.upload_part(Bucket="big", Key="f.bin", UploadId=up["UploadId"], PartNumber=1, Body=first)["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="big",
            Key="f.bin",
            UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]},
        )
    assert exc.value.response["Error"]["Code"] == "InvalidPartOrder"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="big",
            Key="f.bin",
            UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"deadbeef"'}]},
        )
    assert exc.value.response["Error"]["Code"] == "InvalidPart"
    done = s3.complete_multipart_upload(
        Bucket="big",
        Key="f.bin",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
    )
    md5s = hashlib.md5(first).digest() + hashlib.md5(second).digest()
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    got = s3.get_object(Bucket="big", Key="f.bin")
    assert got["Body"].read() == first + second
    assert (got["ContentType"], got["Metadata"]) == ("application/x-test", {"k": "v"})
    # the upload is gone once completed; a small non-last part is refused
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.upload_part(Bucket="big", Key="f.bin", UploadId=up["UploadId"], PartNumber=3, Body=b"x")
    up2 = s3.create_multipart_upload(Bucket="big", Key="g.bin")
    t1 = s3.upload_part(Bucket="big", Key="g.bin", UploadId=up2["UploadId"], PartNumber=1, Body=b"tiny")[
        "ETag"
    ]
    t2 = s3.upload_part(Bucket="big", Key="g.bin", UploadId=up2["UploadId"], PartNumber=2, Body=b"tiny")[
        "ETag"
    ]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="big",
            Key="g.bin",
            UploadId=up2["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": t1}, {"PartNumber": 2, "ETag": t2}]},
        )
    assert exc.value.response["Error"]["Code"] == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket="big", Key="g.bin", UploadId=up2["UploadId"])
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.abort_multipart_upload(Bucket="big", Key="g.bin", UploadId=up2["UploadId"])


@pytest.fixture
def chunked_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make botocore use its TLS upload mode (aws-chunked + trailing CRC32) over plain HTTP."""
    real = botocore.httpchecksum.urlparse

    def as_https(url: str) -> Any:
        return real(url)._replace(scheme="https")

    monkeypatch.setattr(botocore.httpchecksum, "urlparse", as_https)


def test_aws_chunked_upload_with_trailer(
    aws: ClientFactory, chunked_uploads: None, server: RunningServer
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="chunky")
    seen: dict[str, str] = {}
    s3.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: seen.update(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        ),
    )
    body = os.urandom(3 * MiB + 17)
    put = s3.put_object(Bucket="chunky", Key="c.bin", Body=body)
    assert seen["Content-Encoding"] == "aws-chunked"
    assert seen["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    crc = zlib.crc32(body).to_bytes(4, "big")
    assert put["ChecksumCRC32"] == base64.b64encode(crc).decode()
    assert s3.get_object(Bucket="chunky", Key="c.bin")["Body"].read() == body
    info = server.container.storage.head_object("chunky", "c.bin")
    assert info.size == len(body) and info.content_encoding is None


def test_aws_chunked_bad_trailer_checksum_is_rejected(server: RunningServer) -> None:
    httpx.put(server.url + "/v1/buckets/trail")
    body = b"e\r\nhello over tls\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64,
        "X-Amz-Date": "20250101T000000Z",
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Decoded-Content-Length": "14",
    }
    r = httpx.put(server.url + "/trail/t.txt", content=body, headers=headers)
    assert r.status_code == 400 and b"<Code>BadDigest</Code>" in r.content
    good = body.replace(b"AAAAAA==", b"Br5oYg==")
    assert httpx.put(server.url + "/trail/t.txt", content=good, headers=headers).status_code == 200
    assert httpx.get(server.url + "/v1/buckets/trail/objects/t.txt").content == b"hello over tls"


def test_payload_hash_mismatch_is_rejected(server: RunningServer) -> None:
    httpx.put(server.url + "/v1/buckets/hashes")
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64,
        "X-Amz-Date": "20250101T000000Z",
        "X-Amz-Content-SHA256": hashlib.sha256(b"other").hexdigest(),
    }
    r = httpx.put(server.url + "/hashes/h.txt", content=b"payload", headers=headers)
    assert r.status_code == 400 and b"XAmzContentSHA256Mismatch" in r.content
    assert httpx.get(server.url + "/v1/buckets/hashes/objects").json()["objects"] == []


def test_native_rest_buckets_and_objects(server: RunningServer, tmp_path: Path) -> None:
    base = server.url + "/v1/buckets"
    assert httpx.put(base + "/native").status_code == 201
    assert httpx.put(base + "/native").status_code == 409
    data = os.urandom(2 * MiB + 3)
    r = httpx.put(
        base + "/native/objects/dir/file one.bin",
        content=iter([data[:MiB], data[MiB:]]),
        headers={"Content-Type": "application/octet-stream", "x-amz-meta-origin": "rest"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = httpx.get(base + "/native/objects/dir/file one.bin")
    assert got.content == data and got.headers["x-amz-meta-origin"] == "rest"
    ranged = httpx.get(base + "/native/objects/dir/file one.bin", headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == data[10:20]
    assert httpx.head(base + "/native/objects/dir/file one.bin").headers["content-length"] == str(len(data))
    listing = httpx.get(base + "/native/objects", params={"prefix": "dir/"}).json()
    assert [o["key"] for o in listing["objects"]] == ["dir/file one.bin"]
    assert httpx.get(base).json()["buckets"][0]["name"] == "native"
    assert httpx.get(base + "/native/objects/missing").status_code == 404
    assert httpx.put(base + "/native/objects/" + urllib.parse.quote("a/../b", safe="")).status_code == 400
    assert httpx.delete(base + "/native").status_code == 409
    assert httpx.delete(base + "/native/objects/dir/file one.bin").status_code == 204
    assert httpx.delete(base + "/native").status_code == 204


def test_storage_helpers_and_created_hook(server: RunningServer, aws: ClientFactory) -> None:
    storage = server.container.storage
    events: list[tuple[str, str, int, str]] = []
    storage.on_object_created.append(lambda b, k, size, etag: events.append((b, k, size, etag)))
    s3 = aws("s3")
    s3.create_bucket(Bucket="hooks")
    put = s3.put_object(Bucket="hooks", Key="a/b.jpg", Body=b"12345")
    assert events == [("hooks", "a/b.jpg", 5, put["ETag"])]
    assert storage.get_object_bytes("hooks", "a/b.jpg", max_bytes=10) == b"12345"
    with pytest.raises(InvalidObjectError):
        storage.get_object_bytes("hooks", "a/b.jpg", max_bytes=4)
    with pytest.raises(InvalidObjectError):
        storage.get_object_bytes("hooks", "missing", max_bytes=10)
    with storage.open_object_path("hooks", "a/b.jpg") as path:
        assert path.read_bytes() == b"12345"


def test_list_objects_v1_batch_delete_and_location(aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="older")
    keys = [f"k{i:02d}" for i in range(5)] + ["dir/a", "dir/b"]
    for key in keys:
        s3.put_object(Bucket="older", Key=key, Body=b"x")
    pages = list(s3.get_paginator("list_objects").paginate(Bucket="older", PaginationConfig={"PageSize": 2}))
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == sorted(keys)
    grouped = s3.list_objects(Bucket="older", Delimiter="/")
    assert [c["Prefix"] for c in grouped["CommonPrefixes"]] == ["dir/"]
    assert s3.get_bucket_location(Bucket="older")["LocationConstraint"] is None
    result = s3.delete_objects(
        Bucket="older", Delete={"Objects": [{"Key": k} for k in keys[:3]] + [{"Key": "nope"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == sorted(keys[:3] + ["nope"])
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="older")["Contents"]] == sorted(keys[3:])
