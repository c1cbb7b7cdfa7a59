"""GetImages sampling: timestamps on the interval grid, sizes, formats."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from videolens.media import thumbnails
from videolens.media.mkv_fragmenter import Fragment


def test_sampling_interval_and_size(hamilton_fragments: list[Fragment]) -> None:
    blobs = [f.to_bytes() for f in hamilton_fragments]
    images = thumbnails.sample_images(blobs, start_ms=0, end_ms=20_000, interval_ms=1000, width=320)
    assert [round(i.timestamp_ms) for i in images] == [
        844,
        1011,
        2012,
        3013,
        4014,
        5015,
        6016,
        7017,
        8018,
        9019,
    ]
    assert {(i.width, i.height) for i in images} == {(320, 180)}
    decoded = cv2.imdecode(np.frombuffer(images[0].data, np.uint8), cv2.IMREAD_COLOR)
    assert images[0].data[:2] == b"\xff\xd8" and decoded.shape == (180, 320, 3)


def test_png_range_and_limit(hamilton_fragments: list[Fragment]) -> None:
    blobs = [f.to_bytes() for f in hamilton_fragments]
    images = thumbnails.sample_images(
        blobs, start_ms=3000, end_ms=5000, interval_ms=500, fmt="PNG", height=90, limit=3
    )
    assert [round(i.timestamp_ms) for i in images] == [3013, 3513, 4014]
    assert images[0].data[:4] == b"\x89PNG"
    decoded = cv2.imdecode(np.frombuffer(images[0].data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (90, 160, 3)


@pytest.mark.parametrize(
    ("want", "expected"),
    [((None, None), (640, 360)), ((100, None), (100, 56)), ((None, 72), (128, 72)), ((50, 50), (50, 50))],
)
def test_target_size(want: tuple[int | None, int | None], expected: tuple[int, int]) -> None:
    assert thumbnails.target_size(640, 360, *want) == expected
