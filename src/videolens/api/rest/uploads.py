"""Reading request bodies for the native API with a size cap, without buffering more than the cap."""

from __future__ import annotations

from fastapi import Request

from videolens.api.rest.multipart import is_multipart, read_form
from videolens.services.errors import ImageTooLargeError, InvalidImageError, PayloadTooLargeError

#: room for the multipart boundaries, part headers and other small fields around the image
MULTIPART_SLACK = 64 * 1024


async def read_image_body(request: Request, max_bytes: int) -> bytes:
    """The image of a request: a raw body (any image/* or octet-stream) or a multipart field `image`."""
    multipart = is_multipart(request)
    declared = request.headers.get("content-length")
    # refuse a declared oversize body before reading a byte of it
    if declared and declared.isdigit() and int(declared) > max_bytes + (MULTIPART_SLACK if multipart else 0):
        raise ImageTooLargeError(f"the body is {declared} bytes; the image limit is {max_bytes} bytes")
    if multipart:
        files = await read_images(request, ("image", "file"), max_bytes)
        image = files.get("image", files.get("file"))
        if image is None:
            raise InvalidImageError("multipart body has no 'image' file field")
        return image
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ImageTooLargeError(f"the image exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_images(request: Request, names: tuple[str, ...], max_bytes: int) -> dict[str, bytes]:
    """The image parts of a multipart form, each read while it streams and refused over `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > len(names) * max_bytes + MULTIPART_SLACK:
        raise ImageTooLargeError(f"the body is {declared} bytes; the image limit is {max_bytes} bytes")
    try:
        _fields, files = await read_form(request, dict.fromkeys(names, max_bytes))
    except PayloadTooLargeError as exc:
        raise ImageTooLargeError(exc.message) from None
    return files
