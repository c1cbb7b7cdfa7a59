"""Bounded disk: size caps hold while a body streams (413 before the rest arrives, nothing left on
disk), and a full disk (a real 24 MiB tmpfs under the blob store, mounted in a private mount
namespace) answers 507 / the AWS door's error / a KVS 5001 ack, never a corrupt object or fragment.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.hostile.conftest import ServerProcess, start_server
from tests.streams.conftest import mkv_from
from videolens.producer import chunks_of, put_media

MiB = 1024 * 1024
TMPFS_SIZE = 24 * MiB


def _s3(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


def _in_server(server: ServerProcess, path: Path) -> Path:
    """`path` as the server's mount namespace sees it."""
    return Path(f"/proc/{server.proc.pid}/root") / path.resolve().relative_to("/")


def _leftovers(server: ServerProcess) -> list[str]:
    tmp = _in_server(server, server.data_dir / "blobs" / ".tmp")
    return sorted(os.listdir(tmp)) if tmp.exists() else []


def _chunked_request(
    url: str, path: str, content_type: str, head: bytes, body_bytes: int
) -> tuple[int, bytes]:
    """Send `head` then zeros in chunked encoding until `body_bytes`, without ending the body;
    return the status and body of the answer that came while the upload was still open."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sock.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
        piece = b"\0" * (256 * 1024)
        sent = 0
        try:
            while sent < body_bytes:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: read what it said
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 40:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (TimeoutError, ConnectionResetError):
            pass
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12]), answer.partition(b"\r\n\r\n")[2]


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = start_server(
        tmp_path_factory.mktemp("caps") / "data",
        VIDEOLENS_MAX_UPLOAD_BYTES=str(4 * MiB),
        VIDEOLENS_MAX_IMAGE_BYTES=str(1 * MiB),
        VIDEOLENS_JOB_WORKERS="0",
    )
    yield server
    server.stop()


def test_upload_cap_holds_while_streaming(capped_server: ServerProcess) -> None:
    """An anonymize upload over the cap is refused while it is still being sent (12 MiB offered, the
    answer comes before the body ends), and neither the object nor a partial blob stays."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\nblur\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    status, body = _chunked_request(
        capped_server.url, "/v1/anonymize/jobs", f"multipart/form-data; boundary={boundary}", head, 12 * MiB
    )
    assert status == 413, body
    assert b"payload-too-large" in body
    assert _leftovers(capped_server) == []
    listed = httpx.get(f"{capped_server.url}/v1/buckets/videolens-uploads/objects", timeout=10).json()
    assert listed["objects"] == []
    assert httpx.get(f"{capped_server.url}/v1/anonymize/jobs", timeout=10).json()["jobs"] == []


def test_compare_cap_holds_while_streaming(capped_server: ServerProcess) -> None:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="source"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    status, body = _chunked_request(
        capped_server.url, "/v1/faces/compare", f"multipart/form-data; boundary={boundary}", head, 8 * MiB
    )
    assert status == 413, body
    assert b"image-too-large" in body
    assert _leftovers(capped_server) == []
    assert capped_server.alive()


@pytest.fixture
def full_disk_server(tmp_path: Path) -> Any:
    """A server whose blob store sits on a 24 MiB tmpfs, mounted in its own mount namespace (works
    for root and, through a user namespace, for an unprivileged user)."""
    data = tmp_path / "data"
    blobs = data / "blobs"
    blobs.mkdir(parents=True)
    wrap = [
        "unshare",
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        f'mount -t tmpfs -o size={TMPFS_SIZE} tmpfs "$0" && exec "$@"',
        str(blobs),
    ]
    server = start_server(data, wrap=wrap, VIDEOLENS_JOB_WORKERS="0")
    yield server
    server.stop()


def test_full_disk_gives_a_clear_error_and_no_corrupt_data(
    full_disk_server: ServerProcess, hamilton_clip: Path
) -> None:
    server = full_disk_server
    url = server.url
    stat = os.statvfs(_in_server(server, server.data_dir / "blobs"))
    assert stat.f_blocks * stat.f_frsize <= TMPFS_SIZE  # the store really is the small filesystem
    s3 = _s3(url)
    s3.create_bucket(Bucket="disk")
    kept = os.urandom(2 * MiB)
    s3.put_object(Bucket="disk", Key="kept.bin", Body=kept)

    with pytest.raises(ClientError) as exc:  # the AWS door: its error, nothing stored
        s3.put_object(Bucket="disk", Key="big.bin", Body=b"x" * (30 * MiB))
    assert exc.value.response["Error"]["Code"] == "InsufficientStorage"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 507
    r = httpx.put(f"{url}/v1/buckets/disk/objects/big2.bin", content=b"y" * (30 * MiB), timeout=60)
    assert r.status_code == 507, r.text  # the native door: problem+json 507
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/insufficient-storage")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="disk").get("Contents", [])] == ["kept.bin"]
    assert _leftovers(server) == []

    # fill the disk almost to the brim, then stream video in: the fragments acknowledged as
    # persisted read back whole, the first one that does not fit is refused with KVS error 5001
    free = os.statvfs(_in_server(server, server.data_dir / "blobs")).f_bavail * stat.f_frsize
    s3.put_object(Bucket="disk", Key="filler.bin", Body=b"f" * max(0, free - 3 * MiB))
    mkv = mkv_from(hamilton_clip, "-an", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-b:v", "3M")
    assert len(mkv) > 3 * MiB
    kvs = boto3.client(
        "kinesisvideo",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )
    kvs.create_stream(StreamName="full", DataRetentionInHours=24)
    result = put_media(url, chunks_of(mkv), stream_name="full")
    errors = [a.doc for a in result.events("ERROR")]
    assert errors and errors[0]["ErrorId"] == 5001, result.acks
    persisted = {a.doc["FragmentNumber"] for a in result.events("PERSISTED")}
    fragments = httpx.get(f"{url}/v1/streams/full/fragments", timeout=30).json()["fragments"]
    assert {f["fragment_number"] for f in fragments} == persisted
    for fragment in fragments:
        r = httpx.get(
            f"{url}/v1/streams/full/media",
            timeout=30,
            params={"selector": "FRAGMENT_NUMBER", "fragment_number": fragment["fragment_number"]},
        )
        assert r.status_code == 200 and len(r.content) >= fragment["size"]
    assert _leftovers(server) == []
    assert s3.get_object(Bucket="disk", Key="kept.bin")["Body"].read() == kept
    assert server.alive()
