"""Still-image decoding and encoding: bytes → BGR uint8 array (EXIF orientation applied) and back to JPEG."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 40_000_000


class ImageDecodeError(ValueError):
    """The bytes are empty, not a decodable image, or an image larger than the pixel limit."""


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height read from the image header only (no pixel decoding)."""
    if not data:
        raise ImageDecodeError("empty image: the body holds no bytes")
    try:
        with warnings.catch_warnings():
            # The pixel limit is ours; Pillow's own decompression-bomb warning would only duplicate it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                return int(img.width), int(img.height)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            raise ImageDecodeError(f"image too large: {exc}") from exc
        raise ImageDecodeError("not an image: the bytes are not a supported image format") from exc


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode JPEG/PNG/WebP/BMP/TIFF bytes into a BGR uint8 HxWx3 array with EXIF orientation applied.

    The pixel count is checked from the header before anything is decoded, so a huge image costs
    nothing but its header parse.
    """
    width, height = image_size(data)
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"image too large: {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels}"
        )
    if width <= 0 or height <= 0:
        raise ImageDecodeError("not an image: zero-sized image")
    buffer = np.frombuffer(data, dtype=np.uint8)
    # IMREAD_COLOR applies the EXIF orientation (OpenCV does so unless IMREAD_IGNORE_ORIENTATION is set).
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        image = _decode_with_pillow(data)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageDecodeError("not an image: unsupported pixel layout")
    return np.ascontiguousarray(image)


def _decode_with_pillow(data: bytes) -> np.ndarray:
    """Fallback for formats Pillow reads but the OpenCV build does not (e.g. some GIF/TIFF variants)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = ImageOps.exif_transpose(img).convert("RGB")
            return np.asarray(rgb)[:, :, ::-1].copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageDecodeError("not an image: the image data is corrupt or truncated") from exc


def encode_jpeg(image_bgr: np.ndarray, quality: int = 90) -> bytes:
    """Encode a BGR uint8 image as JPEG bytes."""
    ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return encoded.tobytes()
