"""Partial looks: between two whole-picture looks, the tracked faces found again on crops or a shrunk picture.

CenterFace's cost is proportional to its input's pixels (docs/performance.md: 25.5 ms at 640x352,
3.9 ms at 192x192 on one thread), while a look between two whole ones only has to find again the
faces being tracked; the faces that appear are found by the next whole look (the pipeline's
`full_look_s`), and back-fill covers them before. Two kinds, the cheaper one runs:
- a crop look: each live track looked for in a crop around its predicted box (`CROP_MARGIN` faces on
  each side); a face cut by a crop's edge is left out (a neighbour's, whole in its own crop, or a new
  one);
- a reduced look: the whole picture shrunk until the smallest live face is `REDUCED_FACE_PX` high (a
  scene of a few large faces costs 4-10 % of a whole look); it also finds new faces big enough.
Neither runs when it would cost more than `PARTIAL_MAX_SHARE` of a whole look (crowds of small
faces), and the result is refused (a whole look runs) when a face the last look found is not found
again near its course.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from videolens.vision.detector import FaceDetector, padded_size, shrink_rgb
from videolens.vision.sampler import Box, center_error
from videolens.vision.tracker import Track, iou
from videolens.vision.types import Detection

#: a crop look's margin around a track's predicted box, in face sizes on each side
CROP_MARGIN = 0.6
#: the height the smallest tracked face keeps in a reduced look, and its shortest side (pixels)
REDUCED_FACE_PX = 32
REDUCED_MIN_SIDE = 160
#: the share of a whole look's pixels above which the whole look runs instead
PARTIAL_MAX_SHARE = 0.5
#: a face found again: overlapping its predicted box, or its centre within this many faces of it
PARTIAL_FOUND_IOU = 0.3
PARTIAL_FOUND_CENTRE = 0.5


@dataclass(frozen=True)
class PartialLook:
    kind: Literal["crop", "reduced"]
    found: list[Detection]


def partial_look(
    detector: FaceDetector,
    rgb: np.ndarray,
    frame_size: tuple[int, int],
    threshold: float | None,
    live: list[Track],
    now: int,
    last_detect: int,
) -> PartialLook | None:
    """The faces of the `live` tracks on `rgb` (the detector's input for a frame of `frame_size`), in
    frame pixels; None when a whole look must run: no live track, no partial look cheap enough, or a
    face found at `last_detect` that this look does not find again."""
    if not live:
        return None
    in_w, in_h = rgb.shape[1], rgb.shape[0]
    whole = pixels(in_w, in_h)
    regions = _crop_regions(live, now, frame_size, in_w, in_h)
    crop_cost = sum(pixels(r[2] - r[0], r[3] - r[1]) for r in regions) if regions is not None else math.inf
    smallest = min(max(t.boxes[-1][2] - t.boxes[-1][0], t.boxes[-1][3] - t.boxes[-1][1]) for t in live)
    scale = min(
        1.0,
        max(
            REDUCED_FACE_PX / max(smallest * in_w / frame_size[0], 1.0),
            REDUCED_MIN_SIDE / min(in_w, in_h),
        ),
    )
    # the sides rounded up to the network's input multiple: the padding would cost the same
    up_w, up_h = padded_size(math.ceil(in_w * scale), math.ceil(in_h * scale))
    small_w, small_h = min(in_w, up_w), min(in_h, up_h)
    reduced_cost = pixels(small_w, small_h)
    if min(crop_cost, reduced_cost) > PARTIAL_MAX_SHARE * whole:
        return None
    look: PartialLook
    if regions is not None and crop_cost <= reduced_cost:
        look = PartialLook("crop", _crops(detector, rgb, regions, frame_size, threshold))
    else:
        small = shrink_rgb(rgb, small_w, small_h)
        look = PartialLook("reduced", detector.detect_rgb(small, frame_size, threshold))
    for t in live:
        if t.last == last_detect and not found_again(t.predict(now), look.found):
            return None
    return look


def pixels(width: int, height: int) -> int:
    """What CenterFace computes on for an input of this size (padded to its input multiple)."""
    padded_w, padded_h = padded_size(width, height)
    return padded_w * padded_h


def found_again(predicted: Box, found: list[Detection]) -> bool:
    """A face on its course: overlapping its predicted box, or its centre within half a face of it
    (a face that turned or changed speed; a whole look would find it there too)."""
    for d in found:
        box = (d.x1, d.y1, d.x2, d.y2)
        if iou(predicted, box) >= PARTIAL_FOUND_IOU or center_error(predicted, box) <= PARTIAL_FOUND_CENTRE:
            return True
    return False


def _crop_regions(
    live: list[Track], now: int, frame_size: tuple[int, int], in_w: int, in_h: int
) -> list[list[int]] | None:
    """A crop (in detector input pixels) around each track's predicted box; None when one is
    predicted (mostly) outside the picture."""
    sx, sy = in_w / frame_size[0], in_h / frame_size[1]
    regions: list[list[int]] = []
    for t in live:
        x1, y1, x2, y2 = t.predict(now)
        m = CROP_MARGIN * max(x2 - x1, y2 - y1)
        region = [
            max(0, math.floor((x1 - m) * sx)),
            max(0, math.floor((y1 - m) * sy)),
            min(in_w, math.ceil((x2 + m) * sx)),
            min(in_h, math.ceil((y2 + m) * sy)),
        ]
        if region[2] - region[0] < 8 or region[3] - region[1] < 8:
            return None
        regions.append(region)
    return regions


def _crops(
    detector: FaceDetector,
    rgb: np.ndarray,
    regions: list[list[int]],
    frame_size: tuple[int, int],
    threshold: float | None,
) -> list[Detection]:
    in_w, in_h = rgb.shape[1], rgb.shape[0]
    sx, sy = in_w / frame_size[0], in_h / frame_size[1]
    found: list[Detection] = []
    for ax1, ay1, ax2, ay2 in regions:
        crop_size = (max(1, round((ax2 - ax1) / sx)), max(1, round((ay2 - ay1) / sy)))
        ox, oy = ax1 / sx, ay1 / sy
        for d in detector.detect_rgb(rgb[ay1:ay2, ax1:ax2], crop_size, threshold):
            cut = (
                (ax1 > 0 and d.x1 <= 1)
                or (ay1 > 0 and d.y1 <= 1)
                or (ax2 < in_w and d.x2 >= crop_size[0] - 1)
                or (ay2 < in_h and d.y2 >= crop_size[1] - 1)
            )
            if cut:
                continue
            box = (d.x1 + ox, d.y1 + oy, d.x2 + ox, d.y2 + oy)
            same = next((i for i, f in enumerate(found) if iou(box, (f.x1, f.y1, f.x2, f.y2)) >= 0.4), None)
            if same is not None:  # a face in two overlapping crops
                if found[same].score >= d.score:
                    continue
                found.pop(same)
            found.append(Detection(*box, d.score, d.landmarks + np.array([ox, oy], dtype=np.float32)))
    return found
