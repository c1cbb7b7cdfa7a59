"""Kinesis Video Streams wire pieces shared by both front doors: PutMedia's streaming acks, HLS URLs."""

from __future__ import annotations

import json
import logging
import uuid
from collections import deque
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import anyio
from starlette.types import Receive, Send

from videolens.services.errors import (
    AlreadyExistsError,
    InvalidPaginationTokenError,
    InvalidParameterError,
    NotFoundError,
    VideolensError,
)
from videolens.services.streams.errors import NoDataRetentionError, VersionMismatchError
from videolens.services.streams.ingest import IngestSession
from videolens.services.streams.models import TimecodeType

if TYPE_CHECKING:
    from videolens.container import Container

log = logging.getLogger(__name__)
MAX_HELD_ACKS = 1000


def hls_master_url(base_url: str, token: str) -> str:
    return f"{base_url}/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken={token}"


# -- PutMedia ---------------------------------------------------------------------------------------


class PutMediaRefused(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


#: the one map from service errors to KVS error codes (the three KVS facades and PutMedia use it)
KVS_ERRORS: dict[type[Exception], str] = {
    NotFoundError: "ResourceNotFoundException",
    AlreadyExistsError: "ResourceInUseException",
    VersionMismatchError: "VersionMismatchException",
    InvalidParameterError: "InvalidArgumentException",
    InvalidPaginationTokenError: "InvalidArgumentException",
    NoDataRetentionError: "NoDataRetentionException",
}
#: KVS answers a missing resource with 404, every other refusal with 400
KVS_STATUS = {"ResourceNotFoundException": 404}


def kvs_error_code(exc: Exception) -> str | None:
    """The KVS error code of a service error (closest class in its MRO wins), None if unmapped."""
    for cls in type(exc).__mro__:
        if cls in KVS_ERRORS:
            return KVS_ERRORS[cls]
    return None


def _refusal(exc: VideolensError) -> PutMediaRefused:
    code = kvs_error_code(exc) or "ClientLimitExceededException"
    return PutMediaRefused(code, KVS_STATUS.get(code, 400), exc.message)


def open_put_media(
    container: Container, headers: dict[str, str]
) -> tuple[AbstractContextManager[IngestSession], str]:
    """Validate the x-amzn-* headers and build the ingest session's context manager."""
    name = headers.get("x-amzn-stream-name")
    arn = headers.get("x-amzn-stream-arn")
    if (name is None) == (arn is None):
        raise PutMediaRefused("InvalidArgumentException", 400, "send exactly one of x-amzn-stream-name/-arn")
    timecode_type: TimecodeType
    match headers.get("x-amzn-fragment-timecode-type", "RELATIVE").upper():
        case "ABSOLUTE":
            timecode_type = "ABSOLUTE"
        case "RELATIVE":
            timecode_type = "RELATIVE"
        case _:
            raise PutMediaRefused(
                "InvalidArgumentException", 400, "x-amzn-fragment-timecode-type: ABSOLUTE|RELATIVE"
            )
    start_header = headers.get("x-amzn-producer-start-timestamp")
    start: float | None = None
    if start_header is not None:
        try:
            start = float(start_header)
        except ValueError:
            raise PutMediaRefused(
                "InvalidArgumentException", 400, "bad x-amzn-producer-start-timestamp"
            ) from None
    manager = container.streams.ingest(name=name, arn=arn, timecode_type=timecode_type, producer_start=start)
    return manager, timecode_type


def _ack_line(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


async def serve_put_media(
    container: Container, headers: dict[str, str], receive: Receive, send: Send
) -> None:
    """PutMedia: read the Matroska body as it arrives and answer with JSON acks on the same connection."""
    request_id = str(uuid.uuid4())
    try:
        manager, _ = open_put_media(container, headers)
        session = await anyio.to_thread.run_sync(manager.__enter__)
    except (PutMediaRefused, VideolensError) as exc:
        refused = exc if isinstance(exc, PutMediaRefused) else _refusal(exc)
        body = json.dumps({"Message": refused.message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": refused.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-amzn-errortype", refused.code.encode()),
                    (b"x-amzn-requestid", request_id.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    started = False

    async def start_response() -> None:
        nonlocal started
        if not started:
            started = True
            headers_out = [(b"content-type", b"application/json"), (b"x-amzn-requestid", request_id.encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers_out})

    try:
        # Drain the request on its own task: a producer that closes right after its last chunk
        # (ffmpeg does) must not make the server drop body bytes it has already received.
        inbox, outbox = anyio.create_memory_object_stream[dict[str, Any]](1024)
        # The answer (200, then acks as they happen) starts at once when the producer asks for acks (the
        # KVS SDKs do). Others (ffmpeg) never read it: unread bytes in their socket turn their close()
        # into a TCP reset that throws away whatever of the upload is still in flight, so they get the
        # whole answer after the body instead.
        streaming_acks = headers.get("x-amzn-fragment-acknowledgment-required", "").strip() == "1"
        if streaming_acks:
            await start_response()
        # acks held for a producer that does not read them: only the newest are kept, so a producer
        # streaming for days without asking for acks cannot grow the server's memory
        held: deque[bytes] = deque(maxlen=MAX_HELD_ACKS)

        async def drain() -> None:
            async with inbox:
                while True:
                    message = dict(await receive())
                    await inbox.send(message)
                    if message["type"] == "http.disconnect" or not message.get("more_body", False):
                        return

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(drain)
            async with outbox:
                async for message in outbox:
                    if message["type"] == "http.disconnect":
                        started = True  # nobody to answer
                        dropped = await anyio.to_thread.run_sync(session.abort)
                        log.info("putMedia producer disconnected; %d unacknowledged frames dropped", dropped)
                        tasks.cancel_scope.cancel()
                        return
                    chunk = message.get("body", b"")
                    last = not message.get("more_body", False)
                    acks = await anyio.to_thread.run_sync(session.feed, chunk) if chunk else []
                    if last and not session.failed:
                        acks += await anyio.to_thread.run_sync(session.finish)
                    lines = [_ack_line(ack.to_wire()) for ack in acks]
                    if not streaming_acks and not (session.failed or last):
                        held.extend(lines)
                        continue
                    await start_response()
                    for line in [*held, *lines]:
                        await send({"type": "http.response.body", "body": line, "more_body": True})
                    held.clear()
                    if session.failed or last:
                        tasks.cancel_scope.cancel()
                        break
        await start_response()
        await send({"type": "http.response.body", "body": b""})
    finally:
        await anyio.to_thread.run_sync(manager.__exit__, None, None, None)
