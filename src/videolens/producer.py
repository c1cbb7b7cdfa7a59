"""A tiny PutMedia producer: stream Matroska to /putMedia over chunked HTTP and collect the JSON acks."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from videolens.media.mkv_reader import ClusterStart, MkvReader, SegmentInfo


class PutMediaError(Exception):
    """The server refused the session before streaming (HTTP error with x-amzn-ErrorType)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AckRecord:
    doc: dict[str, Any]
    received_at: float  # time.monotonic()

    @property
    def event(self) -> str:
        return str(self.doc.get("EventType"))


@dataclass
class PutMediaResult:
    acks: list[AckRecord] = field(default_factory=list)
    sent_bytes: int = 0
    started_at: float = 0.0
    finished_sending_at: float = 0.0

    def events(self, kind: str) -> list[AckRecord]:
        return [a for a in self.acks if a.event == kind]


def to_matroska(path: Path) -> bytes:
    """Remux any file PyAV reads (MP4, MKV...) to Matroska without re-encoding."""
    out = io.BytesIO()
    with av.open(str(path), "r") as source, av.open(out, "w", format="matroska") as target:
        mapping = {}
        for stream in source.streams:
            if stream.type in ("video", "audio"):
                mapping[stream.index] = target.add_stream_from_template(stream)
        for packet in source.demux():
            if packet.dts is None or packet.stream.index not in mapping:
                continue
            packet.stream = mapping[packet.stream.index]
            target.mux(packet)
    return out.getvalue()


def chunks_of(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def realtime_chunks(data: bytes, *, speed: float = 1.0, size: int = 16 * 1024) -> Iterator[bytes]:
    """Yield the stream cluster by cluster, each no earlier than its timecode says (like ffmpeg -re)."""
    reader = MkvReader()
    scale = 1_000_000
    marks: list[tuple[int, float]] = []  # (byte offset, seconds)
    for event in reader.feed(data) + reader.close():
        if isinstance(event, SegmentInfo):
            scale = event.timecode_scale
        elif isinstance(event, ClusterStart):
            marks.append((event.offset, event.timecode * scale / 1e9))
    if not marks:
        yield from chunks_of(data, size)
        return
    origin = marks[0][1]
    start = time.monotonic()
    pos = 0
    for offset, seconds in marks[1:] + [(len(data), marks[-1][1])]:
        yield from chunks_of(data[pos:offset], size)
        pos = offset
        delay = (seconds - origin) / speed - (time.monotonic() - start)
        if delay > 0:
            time.sleep(delay)


def put_media(
    endpoint: str,
    chunks: Iterable[bytes],
    *,
    stream_name: str | None = None,
    stream_arn: str | None = None,
    timecode_type: str = "RELATIVE",
    producer_start: float | None = None,
    on_ack: Callable[[AckRecord], None] | None = None,
    timeout: float = 60.0,
    extra_headers: dict[str, str] | None = None,
    credentials: tuple[str, str] | None = None,
    region: str = "us-east-1",
) -> PutMediaResult:
    """POST the chunks to `<endpoint>/putMedia`; acks are read on a second thread while sending.

    With `credentials` (access key, secret) the request is SigV4-signed for service "kinesisvideo" the way
    the KVS producer SDKs sign it: every header signed, the body not hashed (SHA-256 of the empty string).
    """
    url = urllib.parse.urlsplit(endpoint.rstrip("/") + "/putMedia")
    if url.scheme != "http":
        raise ValueError("only http:// endpoints are supported by this producer")
    host = url.hostname or "127.0.0.1"
    port = url.port or 80
    headers = {
        "Host": f"{host}:{port}",
        "Transfer-Encoding": "chunked",
        "Connection": "keep-alive",
        "Content-Type": "application/octet-stream",
        "x-amzn-fragment-timecode-type": timecode_type,
        "x-amzn-producer-start-timestamp": f"{time.time() if producer_start is None else producer_start:.3f}",
        "x-amzn-fragment-acknowledgment-required": "1",
    }
    if stream_name is not None:
        headers["x-amzn-stream-name"] = stream_name
    if stream_arn is not None:
        headers["x-amzn-stream-arn"] = stream_arn
    headers.update(extra_headers or {})
    if credentials is not None:
        headers = _signed(f"http://{host}:{port}{url.path}", headers, credentials, region)
    head = f"POST {url.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    result = PutMediaResult(started_at=time.monotonic())
    sock = socket.create_connection((host, port), timeout=timeout)
    errors: list[BaseException] = []
    refused: list[PutMediaError] = []

    def read_acks() -> None:
        try:
            _read_response(sock.makefile("rb"), result, on_ack, refused)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            errors.append(exc)

    reader = threading.Thread(target=read_acks, daemon=True)
    reader.start()
    try:
        sock.sendall(head.encode("latin-1"))
        for chunk in chunks:
            if not chunk:
                continue
            if refused or not reader.is_alive():
                break  # the server answered already (error or closed session)
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            result.sent_bytes += len(chunk)
        if not refused and reader.is_alive():
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server may close early after a fatal ERROR ack; the acks say why
    result.finished_sending_at = time.monotonic()
    reader.join(timeout)
    sock.close()
    if refused:
        raise refused[0]
    if errors:
        raise errors[0]
    return result


def _signed(url: str, headers: dict[str, str], credentials: tuple[str, str], region: str) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=url, data=b"", headers=dict(headers))
    SigV4Auth(Credentials(*credentials), "kinesisvideo", region).add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


def _read_response(
    stream: Any,
    result: PutMediaResult,
    on_ack: Callable[[AckRecord], None] | None,
    refused: list[PutMediaError],
) -> None:
    status_line = stream.readline().decode("latin-1")
    if not status_line:
        return
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while True:
        line = stream.readline().decode("latin-1").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if status != 200:
        length = int(headers.get("content-length", "0"))
        body = stream.read(length) if length else b""
        try:
            message = json.loads(body).get("Message", "")
        except ValueError:
            message = body.decode("utf-8", "replace")
        refused.append(PutMediaError(status, headers.get("x-amzn-errortype", str(status)), message))
        return
    pending = b""
    for chunk in _chunked(stream, headers):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                record = AckRecord(json.loads(line), time.monotonic())
                result.acks.append(record)
                if on_ack is not None:
                    on_ack(record)


def _chunked(stream: Any, headers: dict[str, str]) -> Iterator[bytes]:
    if "chunked" not in headers.get("transfer-encoding", ""):
        length = headers.get("content-length")
        yield stream.read(int(length)) if length else stream.read()
        return
    while True:
        size_line = stream.readline()
        if not size_line:
            return
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            stream.readline()
            return
        data = stream.read(size)
        stream.readline()
        yield data
