"""multipart/form-data read as it arrives: parts stream through, each size cap holds while bytes flow.

Starlette's `request.form()` spools every file part to a temporary file before a route sees it, so a
size cap could only be checked after the whole upload sat on disk. Here the request body is pushed
through python-multipart's parser chunk by chunk and the route sees a stream of events (`PartStart`,
`bytes`, `PartEnd`): file bytes go straight to their destination (the blob store, or memory for an
image capped at a few MB), and a cap stops the request at the first byte over it with a 413.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from videolens.services.errors import InvalidParameterError, PayloadTooLargeError

#: a non-file form field (an option such as `mode=blur`) is never larger than this
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 64


@dataclass(frozen=True)
class PartStart:
    name: str
    filename: str | None
    content_type: str | None


class PartEnd:
    """The part that started last is complete."""


FormEvent = PartStart | bytes | PartEnd
_END = PartEnd()


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def form_events(request: Request) -> AsyncIterator[FormEvent]:
    """The parts of a multipart body, in order; data events are slices of the body as it arrives."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidParameterError("expected a multipart/form-data body with a boundary")
    events: list[FormEvent] = []
    header_field = bytearray()
    header_value = bytearray()
    headers: dict[bytes, bytes] = {}
    parts = 0

    def on_part_begin() -> None:
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        nonlocal parts
        parts += 1
        if parts > MAX_PARTS:
            raise InvalidParameterError(f"more than {MAX_PARTS} form parts")
        disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidParameterError("a form part lacks Content-Disposition: form-data; name=...")
        filename = options.get(b"filename")
        part_type = headers.get(b"content-type")
        events.append(
            PartStart(
                options[b"name"].decode("utf-8", "replace"),
                filename.decode("utf-8", "replace") if filename is not None else None,
                part_type.decode("latin-1") if part_type is not None else None,
            )
        )

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if end > start:
            events.append(bytes(data[start:end]))

    def on_part_end() -> None:
        events.append(_END)

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise InvalidParameterError(f"malformed multipart body: {exc}") from None
            for event in events:
                yield event
            events.clear()
        parser.finalize()
    except FormParserError as exc:
        raise InvalidParameterError(f"malformed multipart body: {exc}") from None
    for event in events:
        yield event


async def read_part(events: AsyncIterator[FormEvent], max_bytes: int, what: str) -> bytes:
    """The rest of the current part, in memory, refused at the first byte over `max_bytes`."""
    chunks: list[bytes] = []
    size = 0
    async for event in events:
        if isinstance(event, PartEnd):
            return b"".join(chunks)
        if isinstance(event, bytes):
            size += len(event)
            if size > max_bytes:
                raise PayloadTooLargeError(f"{what} exceeds the limit of {max_bytes} bytes")
            chunks.append(event)
    raise InvalidParameterError("the multipart body ended inside a part")


def decode_field(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidParameterError(f"form field '{name}' is not UTF-8 text") from None


async def read_form(
    request: Request, file_limits: dict[str, int], *, max_field_bytes: int = MAX_FIELD_BYTES
) -> tuple[dict[str, str], dict[str, bytes]]:
    """A whole small form: text fields, and the file parts named in `file_limits` (each capped)."""
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    events = form_events(request)
    async for event in events:
        if not isinstance(event, PartStart):
            continue
        if event.filename is not None or event.name in file_limits:
            limit = file_limits.get(event.name)
            if limit is None:
                raise InvalidParameterError(f"unexpected file part '{event.name}'")
            files[event.name] = await read_part(events, limit, f"the file '{event.name}'")
        else:
            data = await read_part(events, max_field_bytes, f"form field '{event.name}'")
            fields[event.name] = decode_field(data, event.name)
    return fields, files
