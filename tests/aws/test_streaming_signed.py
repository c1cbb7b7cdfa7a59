"""STREAMING-AWS4-HMAC-SHA256-PAYLOAD (signed aws-chunked bodies, as Java/Go SDKs send): the AWS
documentation's example vectors, then an end-to-end signed upload in secure mode."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.aws.conftest import REGION, ClientFactory, SecureServer
from videolens.api.aws.errors import AwsError
from videolens.api.aws.payload import ChunkSigning, decode_aws_chunked
from videolens.api.aws.sigv4 import signing_key

# "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks"
# (Amazon S3 API reference, example: 66560 bytes of 'a' in 64 KiB chunks)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGS = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
EMPTY = hashlib.sha256(b"").hexdigest()


def _example_body(sigs: list[str]) -> bytes:
    chunks = [b"a" * 65536, b"a" * 1024, b""]
    return b"".join(
        f"{len(c):x};chunk-signature={s}\r\n".encode() + c + b"\r\n"
        for c, s in zip(chunks, sigs, strict=True)
    )


def _pull(data: bytes, size: int = 7000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _signing() -> ChunkSigning:
    key = signing_key(AWS_SECRET, "20130524", "us-east-1", "s3")
    return ChunkSigning(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", SEED)


def test_aws_documentation_vectors() -> None:
    body = _example_body(CHUNK_SIGS)
    assert len(body) == 66824  # the example's Content-Length
    pieces = _pull(body)
    decoded = b"".join(decode_aws_chunked(lambda: next(pieces, b""), {}, _signing()))
    assert decoded == b"a" * 66560


def test_a_wrong_chunk_signature_is_rejected() -> None:
    bad = CHUNK_SIGS[:1] + ["0" * 64] + CHUNK_SIGS[2:]
    pieces = _pull(_example_body(bad))
    with pytest.raises(AwsError) as exc:
        b"".join(decode_aws_chunked(lambda: next(pieces, b""), {}, _signing()))
    assert exc.value.code == "SignatureDoesNotMatch"


def test_a_negative_chunk_size_is_rejected_not_spun_on() -> None:
    pieces = iter([b"-1;chunk-signature=x\r\nabc\r\n0\r\n\r\n"])
    with pytest.raises(AwsError) as exc:
        b"".join(decode_aws_chunked(lambda: next(pieces, b""), {}))
    assert exc.value.code == "IncompleteBody"


class _StreamingSigV4(S3SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def _signed_chunked_put(
    server: SecureServer, url: str, data: list[bytes], tamper: bool = False
) -> httpx.Response:
    decoded_len = sum(len(c) for c in data)
    request = AWSRequest(
        "PUT",
        url,
        headers={"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(decoded_len)},
    )
    _StreamingSigV4(Credentials(server.key_id, server.secret), "s3", REGION).add_auth(request)
    amz_date = request.context["timestamp"]
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    key = b"AWS4" + server.secret.encode()
    for part in (amz_date[:8], REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    previous = str(request.headers["Authorization"]).rsplit("Signature=", 1)[1]
    body = b""
    for chunk in [*data, b""]:
        digest = hashlib.sha256(chunk).hexdigest()
        string = f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY}\n{digest}"
        previous = hmac.new(key, string.encode(), hashlib.sha256).hexdigest()
        sent = chunk.replace(b"b", b"X") if tamper else chunk
        body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + sent + b"\r\n"
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    return httpx.put(url, content=body, headers=headers)


def test_signed_chunked_upload_end_to_end(secure_server: SecureServer, secure_aws: ClientFactory) -> None:
    secure_aws("s3").create_bucket(Bucket="signed")
    data = [b"a" * 70000, b"b" * 5000]
    url = f"{secure_server.url}/signed/chunked.bin"
    r = _signed_chunked_put(secure_server, url, data)
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{hashlib.md5(b"".join(data)).hexdigest()}"'
    assert secure_aws("s3").get_object(Bucket="signed", Key="chunked.bin")["Body"].read() == b"".join(data)
    r = _signed_chunked_put(secure_server, f"{secure_server.url}/signed/tampered.bin", data, tamper=True)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    assert "Contents" not in secure_aws("s3").list_objects_v2(Bucket="signed", Prefix="tampered")
