"""The AWS door under malformed input: every served operation of every served service, cases made
from botocore's models (`tests/fuzz/aws_cases.py`), sent signed over loopback to a real server.

Every answer must be a 4xx in the service's own error shape: botocore's parser for that protocol
reads an error code from it, and the code is one the service uses (its validation code, one of the
operation's modelled errors, or one of the service's common errors) — never a 5xx, never a hang.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from typing import Any

import boto3
import botocore.parsers
import httpx
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.model import OperationModel

from tests.fuzz.aws_cases import REGION, cases
from tests.fuzz.conftest import NativeTarget
from videolens.api.aws.dispatch import discover_services
from videolens.api.aws.registry import AwsService

#: codes a service answers any operation with, besides its validation code and modelled errors
COMMON_CODES = {
    "rekognition": {
        "InvalidParameterException",
        "ImageTooLargeException",
        "InvalidImageFormatException",
        "ResourceNotFoundException",
        "SerializationException",
        "UnknownOperationException",
        "InvalidS3ObjectException",
        "RequestEntityTooLarge",
    },
    "s3": {
        "InvalidArgument",
        "InvalidBucketName",
        "NoSuchBucket",
        "NoSuchKey",
        "NoSuchUpload",
        "MalformedXML",
        "InvalidRequest",
        "KeyTooLongError",
        "InvalidPart",
        "InvalidPartOrder",
        "EntityTooLarge",
        "EntityTooSmall",
        "InvalidRange",
        "PreconditionFailed",
        "MethodNotAllowed",
        "BucketNotEmpty",
        "XAmzContentSHA256Mismatch",
        "400",
        "404",
        "412",
        "416",
    },
    "sagemaker-runtime": {
        "ValidationError",
        "ModelError",
        "SerializationException",
        "UnknownOperationException",
    },
    "sns": {"InvalidParameter", "NotFound", "MalformedQueryString", "InvalidAction", "MissingAction"},
    "kinesisvideo": {
        "InvalidArgumentException",
        "ResourceNotFoundException",
        "SerializationException",
        "UnknownOperationException",
    },
    "kinesis": {
        "InvalidArgumentException",
        "ResourceNotFoundException",
        "SerializationException",
        "UnknownOperationException",
    },
    "kinesis-video-media": {
        "InvalidArgumentException",
        "ResourceNotFoundException",
        "SerializationException",
        "InvalidEndpointException",
    },
    "kinesis-video-archived-media": {
        "InvalidArgumentException",
        "ResourceNotFoundException",
        "SerializationException",
        "NoDataRetentionException",
        "MissingCodecPrivateDataException",
        "InvalidCodecPrivateDataException",
        "UnsupportedStreamMediaTypeException",
    },
    "medialive": {
        "BadRequestException",
        "NotFoundException",
        "ConflictException",
        "UnprocessableEntityException",
        "SerializationException",
        "UnknownOperationException",
    },
}
SERVICES = {s.model_name: s for s in discover_services()}


def _allowed(service: AwsService, op: OperationModel) -> set[str]:
    codes = {service.validation_error} | COMMON_CODES[service.model_name]
    for shape in op.error_shapes:
        codes |= {shape.name, shape.metadata.get("error", {}).get("code", shape.name)}
    return codes


def _error_code(op: OperationModel, response: httpx.Response) -> str | None:
    parser = botocore.parsers.create_parser(op.service_model.protocol)
    parsed = parser.parse(
        {"status_code": response.status_code, "headers": dict(response.headers), "body": response.content},
        op.output_shape,
    )
    error = parsed.get("Error", {})
    return str(error["Code"]) if error.get("Code") else None


@pytest.mark.parametrize("service_name", sorted(SERVICES))
def test_malformed_requests_get_the_service_error_shape(
    native_target: NativeTarget, service_name: str
) -> None:
    service = SERVICES[service_name]
    model = service.model
    codes: Counter[str] = Counter()
    failures: list[str] = []
    sent = 0
    started = time.monotonic()
    with httpx.Client(timeout=30) as client:
        for name in sorted(service.handlers):
            op = model.operation_model(name)
            allowed = _allowed(service, op)
            for case in cases(native_target.url, op, Credentials(*native_target.aws_credentials)):
                sent += 1
                try:
                    response = client.request(case.method, case.url, headers=case.headers, content=case.body)
                except httpx.TimeoutException:
                    failures.append(f"{name} [{case.label}]: no answer within 30 s")
                    continue
                where = f"{name} [{case.label}] → {response.status_code} {response.text[:200]!r}"
                if response.status_code >= 500:
                    failures.append(f"{where}: a server error")
                    continue
                if response.status_code < 400:
                    continue  # a mutation the model allows after all (e.g. an optional member dropped)
                code = _error_code(op, response)
                codes[code or "?"] += 1
                if code == "SignatureDoesNotMatch" and case.label == "ContentLength: wrong type":
                    # secure mode: the client sends the real length, not the signed wrong one, so the
                    # signature check (which dev mode skips) rightly refuses the request first
                    assert native_target.headers, where
                    continue
                if code not in allowed:
                    failures.append(f"{where}: code {code!r} is not one of {service_name}'s")
    print(
        f"\n{service_name}: {sent} cases over {len(service.handlers)} operations in "
        f"{time.monotonic() - started:.1f}s; codes {dict(codes.most_common())}"
    )
    assert sent >= 10 * len(service.handlers) or sent >= 40
    assert not failures, "\n".join(failures[:60])
    assert httpx.get(native_target.url + "/healthz", timeout=5).status_code == 200


def _boto(target: NativeTarget, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=target.url,
        region_name=REGION,
        aws_access_key_id=target.aws_credentials[0],
        aws_secret_access_key=target.aws_credentials[1],
        config=Config(retries={"max_attempts": 1}, parameter_validation=False, read_timeout=30),
    )


def test_oversized_bodies_are_refused_in_the_service_shape(native_target: NativeTarget) -> None:
    """A body over the 32 MiB buffer of non-streaming operations, an S3 object over the upload cap."""
    huge = b"A" * (33 * 1024 * 1024)
    rek = _boto(native_target, "rekognition")
    with pytest.raises(ClientError) as exc:
        rek.detect_faces(Image={"Bytes": huge})
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 413)
    assert exc.value.response["Error"]["Code"] in ("ImageTooLargeException", "RequestEntityTooLarge")
    sns = _boto(native_target, "sns")
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn="arn:aws:sns:us-east-1:000000000000:t", Message=huge.decode())
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413

    s3 = _boto(native_target, "s3")
    s3.create_bucket(Bucket="fuzz-caps")
    cap = native_target.server.container.settings.max_upload_bytes
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="fuzz-caps", Key="big.bin", Body=b"B" * (cap + 1))
    assert exc.value.response["Error"]["Code"] == "EntityTooLarge"
    assert s3.list_objects_v2(Bucket="fuzz-caps").get("KeyCount") == 0
    s3.put_object(Bucket="fuzz-caps", Key="ok.bin", Body=b"ok")
    assert s3.get_object(Bucket="fuzz-caps", Key="ok.bin")["Body"].read() == b"ok"


def test_truncated_bodies_never_hang_nor_store(native_target: NativeTarget) -> None:
    """The client declares more bytes than it sends, then goes away: no object, the server answers on."""
    s3 = _boto(native_target, "s3")
    s3.create_bucket(Bucket="fuzz-cut")
    host, port = native_target.url.removeprefix("http://").split(":")
    for service, target in (("s3", "/fuzz-cut/cut.bin"), ("rekognition", "/")):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            auth = (
                "AWS4-HMAC-SHA256 "
                f"Credential={native_target.aws_credentials[0]}/20260101/{REGION}/{service}/aws4_request, "
                "SignedHeaders=host, Signature=" + "0" * 64
            )
            head = (
                f"PUT {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {auth}\r\n"
                "X-Amz-Date: 20260101T000000Z\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n"
                "X-Amz-Target: RekognitionService.DetectFaces\r\nContent-Length: 100000\r\n\r\n"
            )
            sock.sendall(head.encode() + b"x" * 1000)
    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline
        and httpx.get(native_target.url + "/healthz", timeout=5).status_code != 200
    ):
        time.sleep(0.1)
    assert httpx.get(native_target.url + "/healthz", timeout=5).status_code == 200
    time.sleep(0.5)  # the server notices the disconnect and drops the partial blob
    assert s3.list_objects_v2(Bucket="fuzz-cut").get("KeyCount") == 0
    blobs = native_target.server.container.settings.blob_dir / ".tmp"
    assert not any(blobs.iterdir()) if blobs.exists() else True
