"""Every modelled error reaches boto3 as the right ClientError code; SigV4 failures in secure mode."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import botocore.auth
import cv2
import httpx
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.aws.conftest import ClientFactory, SecureServer


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _blank_png() -> bytes:
    ok, data = cv2.imencode(".png", np.full((120, 160, 3), 200, np.uint8))
    assert ok
    return data.tobytes()


# ---- Rekognition ----------------------------------------------------------------------------------


def test_invalid_parameter_pattern(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    with pytest.raises(rek.exceptions.InvalidParameterException) as exc:
        rek.create_collection(CollectionId="no spaces allowed")
    assert "regular expression" in exc.value.response["Error"]["Message"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invalid_parameter_max_length_and_range(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    with pytest.raises(rek.exceptions.InvalidParameterException):
        rek.create_collection(CollectionId="x" * 256)
    rek.create_collection(CollectionId="c1")
    with pytest.raises(rek.exceptions.InvalidParameterException):
        rek.search_faces_by_image(CollectionId="c1", Image={"Bytes": _blank_png()}, FaceMatchThreshold=101)
    with pytest.raises(rek.exceptions.InvalidParameterException):
        rek.detect_faces(Image={"Bytes": _blank_png()}, Attributes=["EVERYTHING"])


def test_invalid_parameter_no_face(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    rek.create_collection(CollectionId="c1")
    with pytest.raises(rek.exceptions.InvalidParameterException):
        rek.search_faces_by_image(CollectionId="c1", Image={"Bytes": _blank_png()})


def test_resource_not_found(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    with pytest.raises(rek.exceptions.ResourceNotFoundException) as exc:
        rek.describe_collection(CollectionId="missing")
    assert _code(exc) == "ResourceNotFoundException"


def test_resource_already_exists(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    rek.create_collection(CollectionId="dup")
    with pytest.raises(rek.exceptions.ResourceAlreadyExistsException):
        rek.create_collection(CollectionId="dup")


def test_invalid_image_format(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    with pytest.raises(rek.exceptions.InvalidImageFormatException):
        rek.detect_faces(Image={"Bytes": b"GIF89a not really an image"})


def test_image_too_large(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    with pytest.raises(rek.exceptions.ImageTooLargeException):
        rek.detect_faces(Image={"Bytes": b"\xff" * (5 * 1024 * 1024 + 1)})


def test_invalid_s3_object(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    aws("s3").create_bucket(Bucket="photos")
    with pytest.raises(rek.exceptions.InvalidS3ObjectException):
        rek.detect_faces(Image={"S3Object": {"Bucket": "photos", "Name": "missing.jpg"}})
    with pytest.raises(rek.exceptions.InvalidS3ObjectException):
        rek.detect_faces(Image={"S3Object": {"Bucket": "no-such-bucket", "Name": "a.jpg"}})


def test_invalid_pagination_token(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    rek.create_collection(CollectionId="c1")
    with pytest.raises(rek.exceptions.InvalidPaginationTokenException):
        rek.list_faces(CollectionId="c1", NextToken="not-a-token")
    with pytest.raises(rek.exceptions.InvalidPaginationTokenException):
        rek.list_collections(NextToken="garbage")


def test_unknown_operation_is_rejected(aws: ClientFactory) -> None:
    rek = aws("rekognition")
    with pytest.raises(ClientError) as exc:
        rek.detect_labels(Image={"Bytes": _blank_png()})
    assert _code(exc) == "UnknownOperationException"


# ---- S3 ---------------------------------------------------------------------------------------------


def test_s3_error_codes(aws: ClientFactory) -> None:
    s3 = aws("s3")
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.list_objects_v2(Bucket="nope")
    s3.create_bucket(Bucket="bkt1")
    with pytest.raises(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket="bkt1")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="bkt1", Key="missing")
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket="bkt1", Key="missing")
    assert _code(exc) == "404"
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.abort_multipart_upload(Bucket="bkt1", Key="k", UploadId="0" * 32)
    s3.put_object(Bucket="bkt1", Key="k", Body=b"0123456789")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="bkt1", Key="k", Range="bytes=50-60")
    assert _code(exc) == "InvalidRange"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="bkt1", Key="k", IfMatch='"0000"')
    assert _code(exc) == "PreconditionFailed"
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket="bkt1")
    assert _code(exc) == "BucketNotEmpty"
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="Upper_Case")
    assert _code(exc) == "InvalidBucketName"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bkt1", Key="a/../../etc/passwd", Body=b"x")
    assert _code(exc) == "InvalidArgument"


# ---- SigV4 in secure mode -------------------------------------------------------------------------


def test_secure_mode_accepts_the_right_key(secure_aws: ClientFactory) -> None:
    secure_aws("rekognition").create_collection(CollectionId="ok")
    s3 = secure_aws("s3")
    s3.create_bucket(Bucket="okay")
    s3.put_object(Bucket="okay", Key="dir/a b+c.txt", Body=b"signed", Metadata={"who": "me"})
    assert s3.get_object(Bucket="okay", Key="dir/a b+c.txt")["Body"].read() == b"signed"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="okay", Prefix="dir/")["Contents"]] == [
        "dir/a b+c.txt"
    ]


def test_wrong_secret_is_rejected(secure_aws: ClientFactory, secure_server: SecureServer) -> None:
    rek = secure_aws("rekognition", secret="wrong-secret-wrong-secret-wrong")
    with pytest.raises(ClientError) as exc:
        rek.list_collections()
    assert _code(exc) == "InvalidSignatureException"
    s3 = secure_aws("s3", secret="wrong-secret-wrong-secret-wrong")
    with pytest.raises(ClientError) as exc:
        s3.list_buckets()
    assert _code(exc) == "SignatureDoesNotMatch"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_key_is_rejected(secure_aws: ClientFactory) -> None:
    with pytest.raises(ClientError) as exc:
        secure_aws("rekognition", access_key="AKIAUNKNOWNUNKNOWN00").list_collections()
    assert _code(exc) == "UnrecognizedClientException"
    with pytest.raises(ClientError) as exc:
        secure_aws("s3", access_key="AKIAUNKNOWNUNKNOWN00").list_buckets()
    assert _code(exc) == "InvalidAccessKeyId"


def test_unsigned_request_does_not_reach_the_facades(secure_server: SecureServer) -> None:
    r = httpx.post(
        secure_server.url + "/",
        headers={
            "X-Amz-Target": "RekognitionService.ListCollections",
            "Content-Type": "application/x-amz-json-1.1",
        },
        content=b"{}",
    )
    # the native door answers (in secure mode: 401, it needs a credential), never a facade
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_clock_skew_is_rejected(secure_aws: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - dt.timedelta(minutes=20))
    with pytest.raises(ClientError) as exc:
        secure_aws("s3").list_buckets()
    assert _code(exc) == "RequestTimeTooSkewed"
    with pytest.raises(ClientError) as exc:
        secure_aws("rekognition").list_collections()
    assert _code(exc) == "InvalidSignatureException"
    assert "Signature expired" in exc.value.response["Error"]["Message"]


def test_presigned_get_and_expiry(
    secure_aws: ClientFactory, secure_server: SecureServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s3 = secure_aws("s3", config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
    s3.create_bucket(Bucket="share")
    s3.put_object(Bucket="share", Key="clip one.bin", Body=b"presigned bytes")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "share", "Key": "clip one.bin"}, ExpiresIn=60
    )
    assert "X-Amz-Credential" in url
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == b"presigned bytes"
    # tampering with the signed query is caught
    assert httpx.get(url.replace("X-Amz-Expires=60", "X-Amz-Expires=600")).status_code == 403

    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - dt.timedelta(minutes=5))
    old = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "share", "Key": "clip one.bin"}, ExpiresIn=60
    )
    r = httpx.get(old)
    assert r.status_code == 403
    assert b"<Code>AccessDenied</Code>" in r.content and b"Request has expired" in r.content


def test_dev_mode_accepts_any_key(aws: ClientFactory) -> None:
    rek = aws("rekognition", access_key="ANYTHING", secret="whatever")
    assert rek.list_collections()["CollectionIds"] == []


def test_default_presigned_url_sigv2(secure_aws: ClientFactory) -> None:
    """boto3's default `generate_presigned_url` for S3 in us-east-1 is the legacy SigV2 query form."""
    s3 = secure_aws("s3")
    s3.create_bucket(Bucket="legacy")
    s3.put_object(Bucket="legacy", Key="a b.txt", Body=b"v2 bytes")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "legacy", "Key": "a b.txt"}, ExpiresIn=60)
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == b"v2 bytes"
    assert httpx.get(url.replace("Signature=", "Signature=x")).status_code == 403
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "legacy", "Key": "a b.txt"}, ExpiresIn=-10
    )
    r = httpx.get(expired)
    assert r.status_code == 403 and b"Request has expired" in r.content
