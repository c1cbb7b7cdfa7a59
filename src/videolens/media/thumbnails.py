"""GetImages: decode frames of Matroska fragments at a sampling interval and encode them as JPEG/PNG."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import av
import cv2
import numpy as np


@dataclass(frozen=True)
class Image:
    timestamp_ms: float  # on the fragments' time line (producer milliseconds)
    data: bytes
    width: int
    height: int


def target_size(width: int, height: int, want_w: int | None, want_h: int | None) -> tuple[int, int]:
    """Output size; with only one side given the other keeps the aspect ratio (GetImages' rule)."""
    if want_w and want_h:
        return want_w, want_h
    if want_w:
        return want_w, max(1, round(height * want_w / width))
    if want_h:
        return max(1, round(width * want_h / height)), want_h
    return width, height


def encode(frame_bgr: np.ndarray, fmt: str, jpeg_quality: int = 80) -> bytes:
    if fmt.upper() == "PNG":
        ok, data = cv2.imencode(".png", frame_bgr)
    else:
        ok, data = cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise ValueError(f"could not encode a {fmt} image")
    return bytes(data.tobytes())


def sample_images(
    fragments: Iterable[bytes],
    *,
    start_ms: float,
    end_ms: float,
    interval_ms: float,
    fmt: str = "JPEG",
    width: int | None = None,
    height: int | None = None,
    jpeg_quality: int = 80,
    limit: int | None = None,
) -> list[Image]:
    """One image per `interval_ms` in [start_ms, end_ms]: the first decoded frame at or after each tick."""
    images: list[Image] = []
    next_tick = start_ms
    for blob in fragments:
        with av.open(io.BytesIO(blob), "r", format="matroska") as source:
            if not source.streams.video:
                continue
            for frame in source.decode(video=0):
                if frame.pts is None or frame.time_base is None:
                    continue
                ts_ms = float(frame.pts * frame.time_base) * 1000.0
                if ts_ms < next_tick:
                    continue
                if ts_ms > end_ms:
                    return images
                out_w, out_h = target_size(frame.width, frame.height, width, height)
                bgr = frame.reformat(width=out_w, height=out_h, format="bgr24").to_ndarray()
                images.append(Image(ts_ms, encode(bgr, fmt, jpeg_quality), out_w, out_h))
                if limit is not None and len(images) >= limit:
                    return images
                while next_tick <= ts_ms:
                    next_tick += interval_ms
    return images
