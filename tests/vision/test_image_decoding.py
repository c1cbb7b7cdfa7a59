"""Image bytes → BGR arrays: formats, EXIF orientation, the errors for empty, non-image and huge input."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from videolens.media.images import ImageDecodeError, decode_image, encode_jpeg


def pil_bytes(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_decodes_the_real_jpegs(faces_dir: Path) -> None:
    image = decode_image((faces_dir / "_test" / "city.jpg").read_bytes())
    assert image.shape == (564, 800, 3) and image.dtype == np.uint8 and image.flags["C_CONTIGUOUS"]


def test_png_rgb_order_alpha_and_grey() -> None:
    rgba = Image.new("RGBA", (4, 3), (255, 0, 0, 128))
    decoded = decode_image(pil_bytes(rgba, "PNG"))
    assert decoded.shape == (3, 4, 3)
    assert tuple(decoded[0, 0]) == (0, 0, 255)  # red, in BGR order
    grey = decode_image(pil_bytes(Image.new("L", (5, 2), 77), "PNG"))
    assert grey.shape == (2, 5, 3) and np.all(grey == 77)


def test_exif_orientation_is_applied() -> None:
    # A 40x20 image, left half red and right half blue, tagged "rotate 90° clockwise to display" (6).
    array = np.zeros((20, 40, 3), dtype=np.uint8)
    array[:, :20] = (255, 0, 0)
    array[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = pil_bytes(Image.fromarray(array), "JPEG", quality=95, exif=exif)
    decoded = decode_image(data)
    assert decoded.shape == (40, 20, 3)
    # After the clockwise turn the left (red) half is on top.
    assert decoded[5, 10, 2] > 200 and decoded[5, 10, 0] < 50
    assert decoded[35, 10, 0] > 200 and decoded[35, 10, 2] < 50


def test_empty_bytes() -> None:
    with pytest.raises(ImageDecodeError, match="empty"):
        decode_image(b"")


def test_bytes_that_are_not_an_image() -> None:
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode_image(b"%PDF-1.4 definitely not a picture" * 10)


def test_truncated_image_header() -> None:
    data = pil_bytes(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode_image(data[:20])


def test_too_many_pixels_is_refused_from_the_header() -> None:
    data = pil_bytes(Image.new("RGB", (300, 200)), "PNG")
    assert decode_image(data, max_pixels=60_000).shape == (200, 300, 3)
    with pytest.raises(
        ImageDecodeError, match=r"too large: 300x200 = 60000 pixels exceeds the limit of 59999"
    ):
        decode_image(data, max_pixels=59_999)
    # 10000x5000 = 50 Mpx > the default 40 Mpx: refused before decoding (a black PNG is small on disk).
    huge = pil_bytes(Image.new("L", (10_000, 5_000)), "PNG")
    assert len(huge) < 200_000
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(huge)


def test_encode_jpeg_round_trip() -> None:
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    image[:, :, 1] = 200
    data = encode_jpeg(image, quality=95)
    assert data[:2] == b"\xff\xd8"
    decoded = decode_image(data)
    assert decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - image.astype(int)).max() <= 3
    assert len(encode_jpeg(image, quality=20)) < len(data)
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == image.shape
