"""Reading request bodies for the native API with a size cap, without buffering more than the cap."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from videolens.services.errors import ImageTooLargeError, InvalidImageError

#: room for the multipart boundaries, part headers and other small fields around the image
MULTIPART_SLACK = 64 * 1024


async def read_image_body(request: Request, max_bytes: int) -> bytes:
    """The image of a request: a raw body (any image/* or octet-stream) or a multipart field `image`."""
    content_type = request.headers.get("content-type", "")
    multipart = content_type.startswith("multipart/form-data")
    declared = request.headers.get("content-length")
    # refuse a declared oversize body before reading it (Starlette would spool a whole multipart
    # upload to disk before we could look at the file's size)
    if declared and declared.isdigit() and int(declared) > max_bytes + (MULTIPART_SLACK if multipart else 0):
        raise ImageTooLargeError(f"the body is {declared} bytes; the image limit is {max_bytes} bytes")
    if multipart:
        async with request.form() as form:  # closes the spooled temporary files
            upload = form.get("image") or form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidImageError("multipart body has no 'image' file field")
            return await read_upload(upload, max_bytes)
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
