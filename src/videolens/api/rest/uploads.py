"""Reading request bodies for the native API with a size cap, without buffering more than the cap."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from videolens.services.errors import ImageTooLargeError, InvalidImageError


async def read_image_body(request: Request, max_bytes: int) -> bytes:
    """The image of a request: a raw body (any image/* or octet-stream) or a multipart field `image`."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("image") or form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidImageError("multipart body has no 'image' file field")
        return await read_upload(upload, max_bytes)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ImageTooLargeError(f"the image is {declared} bytes; the limit is {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ImageTooLargeError(f"the image exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"the image exceeds the limit of {max_bytes} bytes")
    return data
