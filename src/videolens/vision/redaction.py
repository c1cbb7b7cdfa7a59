"""Redaction filters (pixelate, blur, solid, none) applied in place, only inside each face's region."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

RedactionMode = Literal["pixelate", "blur", "solid", "none"]
MaskShape = Literal["ellipse", "box"]

MODES: tuple[RedactionMode, ...] = ("pixelate", "blur", "solid", "none")
SHAPES: tuple[MaskShape, ...] = ("ellipse", "box")


@dataclass(frozen=True)
class RedactionStyle:
    """How a face region is hidden; `mask_scale` grows the box around its centre (deface's default 1.3)."""

    mode: RedactionMode = "pixelate"
    shape: MaskShape = "ellipse"
    mask_scale: float = 1.3
    #: pixelate: the number of mosaic cells across the longer side of the mask (deface's --mosaicsize
    #: is a cell size in pixels; a count keeps small and large faces equally unrecognisable)
    mosaic_size: int = 10
    #: solid: BGR colour
    color: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown redaction mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if self.shape not in SHAPES:
            raise ValueError(f"unknown mask shape {self.shape!r}; expected one of {', '.join(SHAPES)}")
        if not 0.1 <= self.mask_scale <= 10:
            raise ValueError(f"mask scale must be within 0.1..10, got {self.mask_scale}")
        if self.mosaic_size < 1:
            raise ValueError(f"mosaic size must be >= 1, got {self.mosaic_size}")


def scaled_box(
    box: tuple[float, float, float, float], scale: float, width: int, height: int
) -> tuple[int, int, int, int]:
    """Integer box grown by `scale` around its centre and clipped to the image (may be empty)."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    hw, hh = (x2 - x1) * scale / 2, (y2 - y1) * scale / 2
    # floor/ceil so the mask never shrinks below the requested region through rounding
    ix1, iy1 = max(0, int(np.floor(cx - hw))), max(0, int(np.floor(cy - hh)))
    ix2, iy2 = min(width, int(np.ceil(cx + hw))), min(height, int(np.ceil(cy + hh)))
    return ix1, iy1, ix2, iy2


def _ellipse_mask(
    box: tuple[float, float, float, float], roi: tuple[int, int, int, int], scale: float
) -> np.ndarray:
    """Boolean mask over the ROI of the ellipse inscribed in the scaled (unclipped) box."""
    x1, y1, x2, y2 = box
    rx1, ry1, rx2, ry2 = roi
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    ax, ay = max((x2 - x1) * scale / 2, 0.5), max((y2 - y1) * scale / 2, 0.5)
    # pixel centres, so a pixel is inside when its centre is
    xs = (np.arange(rx1, rx2, dtype=np.float32) + 0.5 - cx) / ax
    ys = (np.arange(ry1, ry2, dtype=np.float32) + 0.5 - cy) / ay
    return (ys[:, None] ** 2 + xs[None, :] ** 2) <= 1.0


#: blur: the face is averaged down to this many samples across its longer side and smoothly scaled
#: back up. A Gaussian of a ninth of the face (what the blur was before, as two passes at a 32-63 px
#: copy) keeps no detail finer than that either, so the result is as unrecognisable (the suite checks
#: it with the detector and the face descriptor), at a fraction of the cost (docs/performance.md)
BLUR_SAMPLES = 8


def _small_size(h: int, w: int, style: RedactionStyle) -> tuple[int, int]:
    """(width, height) of the averaged copy a face region is filtered through (blur, pixelate)."""
    cells = style.mosaic_size if style.mode == "pixelate" else BLUR_SAMPLES
    cell = max(1.0, max(h, w) / max(1, cells))
    return max(1, round(w / cell)), max(1, round(h / cell))


def _smooth(small: np.ndarray) -> np.ndarray:
    # a 3-tap smoothing of the averaged copy, so the bilinear scale-up shows no cell grid
    if min(small.shape[:2]) >= 3:
        return cv2.GaussianBlur(small, (3, 3), 0)
    return small


def _filtered(roi: np.ndarray, style: RedactionStyle) -> np.ndarray:
    h, w = roi.shape[:2]
    if style.mode == "solid":
        return np.broadcast_to(np.asarray(style.color, dtype=np.uint8), roi.shape)
    small = cv2.resize(roi, _small_size(h, w, style), interpolation=cv2.INTER_AREA)
    if style.mode == "pixelate":
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(_smooth(small), (w, h), interpolation=cv2.INTER_LINEAR)


def redact(
    image_bgr: np.ndarray, boxes: Iterable[tuple[float, float, float, float]], style: RedactionStyle
) -> np.ndarray:
    """Hide every box of `image_bgr` in place (and return it); pixels outside the masks are untouched."""
    if style.mode == "none":
        return image_bgr
    height, width = image_bgr.shape[:2]
    for box in boxes:
        roi_box = scaled_box(box, style.mask_scale, width, height)
        rx1, ry1, rx2, ry2 = roi_box
        if rx2 <= rx1 or ry2 <= ry1:
            continue
        roi = image_bgr[ry1:ry2, rx1:rx2]
        filtered = _filtered(roi, style)
        if style.shape == "box":
            roi[...] = filtered
        else:
            mask = _ellipse_mask(box, roi_box, style.mask_scale)
            np.copyto(roi, filtered, where=mask[:, :, None])
    return image_bgr


def redact_i420(
    i420: np.ndarray, boxes: Iterable[tuple[float, float, float, float]], style: RedactionStyle
) -> bool:
    """Hide every box of a planar YUV 4:2:0 image ((H * 3/2, W) uint8, as decoders give it) in place.

    The filter runs on the planes themselves: luma inside the mask, and both chroma planes (as one
    two-channel image) on every chroma sample one of whose four luma pixels is masked. Blur and
    mosaic are linear, so filtering Y, U and V is filtering the colours; solid writes the colour's
    own Y, U and V. Nothing outside the masks changes and nothing is converted to BGR: at 1080p that
    saves two full-frame conversions per frame, and per face it is a third of the calls of a
    convert-filter-convert round trip (docs/performance.md). Returns whether anything was written.
    """
    if style.mode == "none":
        return False
    height = i420.shape[0] * 2 // 3
    width = i420.shape[1]
    if height % 2 or width % 2:
        raise ValueError("4:2:0 planes need an even width and height")
    y = i420[:height]
    u = i420[height : height + height // 4].reshape(height // 2, width // 2)
    v = i420[height + height // 4 :].reshape(height // 2, width // 2)
    changed_any = False
    for box in boxes:
        roi = scaled_box(box, style.mask_scale, width, height)
        rx1, ry1, rx2, ry2 = roi
        if rx2 <= rx1 or ry2 <= ry1:
            continue
        # the region of the chroma samples covering the mask: even-aligned, its chroma half size
        ax1, ay1 = rx1 & ~1, ry1 & ~1
        ax2, ay2 = min(width, (rx2 + 1) & ~1), min(height, (ry2 + 1) & ~1)
        h, w = ay2 - ay1, ax2 - ax1
        if style.shape == "ellipse":
            # no pixel centre outside the scaled box lies in its inscribed ellipse: computed on the
            # aligned region directly, the mask is the ROI's
            mask = _ellipse_mask(box, (ax1, ay1, ax2, ay2), style.mask_scale)
        else:
            mask = np.zeros((h, w), dtype=bool)
            mask[ry1 - ay1 : ry2 - ay1, rx1 - ax1 : rx2 - ax1] = True
        # a chroma sample belongs to four luma pixels: it changes when any of them does
        cmask = mask[::2, ::2] | mask[1::2, ::2] | mask[::2, 1::2] | mask[1::2, 1::2]
        luma = y[ay1:ay2, ax1:ax2]
        cu = u[ay1 // 2 : ay2 // 2, ax1 // 2 : ax2 // 2]
        cv = v[ay1 // 2 : ay2 // 2, ax1 // 2 : ax2 // 2]
        if style.mode == "solid":
            cy_, cu_, cv_ = _yuv_colour(style.color)
            luma[mask] = cy_
            cu[cmask] = cu_
            cv[cmask] = cv_
        else:
            # Y (averaged to the chroma size), U and V as one 3-channel image at chroma size, averaged
            # down to the filter's few samples, filtered and scaled up once to the luma size; chroma
            # takes every other sample of that (it is smooth, or constant over a mosaic cell). Per
            # face that is ~12 small calls instead of ~30 (docs/performance.md)
            half = (w // 2, h // 2)
            planes = cv2.merge((cv2.resize(luma, half, interpolation=cv2.INTER_AREA), cu, cv))
            small = cv2.resize(planes, _small_size(h, w, style), interpolation=cv2.INTER_AREA)
            if style.mode == "pixelate":
                big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
            else:
                big = cv2.resize(_smooth(small), (w, h), interpolation=cv2.INTER_LINEAR)
            cv2.copyTo(cv2.extractChannel(big, 0), mask.view(np.uint8), luma)
            np.copyto(cu, big[::2, ::2, 1], where=cmask)
            np.copyto(cv, big[::2, ::2, 2], where=cmask)
        changed_any = True
    return changed_any


def _yuv_colour(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour as the encoder's 4:2:0 samples (the same BT.601 matrix as the BGR path)."""
    block = np.empty((2, 2, 3), dtype=np.uint8)
    block[...] = bgr
    i420 = cv2.cvtColor(block, cv2.COLOR_BGR2YUV_I420).reshape(-1)
    return int(i420[0]), int(i420[4]), int(i420[5])
