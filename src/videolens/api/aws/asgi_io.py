"""ASGI plumbing of the AWS front door: request bodies (buffered or pulled by a worker thread), responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread
from anyio import from_thread

from videolens.api.aws.errors import AwsError
from videolens.api.aws.wire import WireResponse

#: bodies of non-streaming operations are read whole; Rekognition's 5 MB image is ~7 MB of base64
MAX_BUFFERED_BODY = 32 * 1024 * 1024


class ClientDisconnected(Exception):
    """The client went away while we were reading its body."""


class BodyState:
    done = False


def has_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers


async def read_all(receive: Any, state: BodyState) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        body = message.get("body", b"")
        size += len(body)
        if size > MAX_BUFFERED_BODY:
            raise AwsError("RequestEntityTooLarge", "Request body too large", 413)
        chunks.append(body)
        if not message.get("more_body", False):
            state.done = True
            return b"".join(chunks)


def puller(receive: Any, state: BodyState) -> Any:
    """A sync `pull()` for worker threads: the next body chunk from the ASGI channel, b"" at the end."""

    def pull() -> bytes:
        while not state.done:
            message = from_thread.run(receive)
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            state.done = not message.get("more_body", False)
            body: bytes = message.get("body", b"")
            if body:
                return body
        return b""

    return pull


def next_chunk(iterator: Iterator[bytes]) -> bytes | None:
    return next(iterator, None)


async def send_response(response: WireResponse, send: Any, head: bool, receive: Any = None) -> None:
    """Send `response`; a streamed body stops at the client's disconnect when `receive` is given (the
    request body read to its end), so a closed subscriber or live reader frees its worker thread at
    the next event instead of streaming into the void until the stream's own end (minutes)."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    names = {k.lower() for k, _ in response.headers}
    body = response.body
    if isinstance(body, bytes | bytearray):
        if "content-length" not in names:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else bytes(body)})
        return
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head:
        await send({"type": "http.response.body", "body": b""})
        return
    if isinstance(body, AsyncIterator):
        async for chunk in body:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    else:
        gone = anyio.Event()
        async with anyio.create_task_group() as watchers:
            if receive is not None:
                watchers.start_soon(_watch_disconnect, receive, gone)
            await _send_chunks(iter(body), send, gone)
            watchers.cancel_scope.cancel()
        if gone.is_set():
            return
    await send({"type": "http.response.body", "body": b""})


async def _watch_disconnect(receive: Any, gone: anyio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _send_chunks(iterator: Iterator[bytes], send: Any, gone: anyio.Event) -> None:
    try:
        while not gone.is_set():
            piece = await anyio.to_thread.run_sync(next_chunk, iterator)
            if piece is None:
                break
            if piece and not gone.is_set():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            await anyio.to_thread.run_sync(close)
