"""What goes into a model and what comes back, the same for every kind.

In: encoded image bytes with their content type (a REST / InvokeEndpoint body) or a decoded RGB frame
(an analyzer's sampled frame); each form is produced from the other at most once, on demand, so a
remote model gets the original bytes untouched and an in-process model decodes them once.
Out: the model's raw answer bytes + content type (what InvokeEndpoint returns) and their JSON reading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from videolens.media.images import ImageDecodeError, decode_image
from videolens.services.errors import InvalidImageError

JSON = "application/json"
_ENCODINGS = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png", "image/x-image": ".jpg"}


@dataclass
class ModelInput:
    """An image for a model: `ModelInput.from_bytes(body, "image/jpeg")` or `ModelInput.from_frame(rgb)`."""

    data: bytes | None = None
    content_type: str | None = None
    frame: np.ndarray | None = field(default=None, repr=False)
    max_pixels: int = 40_000_000

    @staticmethod
    def from_bytes(data: bytes, content_type: str | None = None, max_pixels: int = 40_000_000) -> ModelInput:
        return ModelInput(data=data, content_type=_media_type(content_type), max_pixels=max_pixels)

    @staticmethod
    def from_frame(rgb: np.ndarray) -> ModelInput:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InvalidImageError(f"a frame must be HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
        return ModelInput(frame=rgb)

    def rgb(self) -> np.ndarray:
        """The decoded HxWx3 uint8 RGB frame (decoded once)."""
        if self.frame is None:
            if not self.data:
                raise InvalidImageError("empty body: send the image bytes")
            try:
                bgr = decode_image(self.data, self.max_pixels)
            except ImageDecodeError as exc:
                raise InvalidImageError(str(exc)) from exc
            self.frame = np.ascontiguousarray(bgr[:, :, ::-1])
        return self.frame

    def encoded(self, content_type: str) -> bytes:
        """The image as `content_type` bytes: the original bytes when they already are, else encoded."""
        wanted = _media_type(content_type) or "image/jpeg"
        if self.data is not None and (self.content_type == wanted or self.frame is None):
            return self.data  # a remote model gets what the caller sent, untouched
        suffix = _ENCODINGS.get(wanted)
        if suffix is None:
            raise InvalidImageError(f"cannot encode a frame as {wanted}; use image/jpeg or image/png")
        ok, buffer = cv2.imencode(suffix, np.ascontiguousarray(self.rgb()[:, :, ::-1]))
        if not ok:
            raise InvalidImageError(f"encoding the frame as {wanted} failed")
        return buffer.tobytes()


@dataclass(frozen=True)
class ModelAnswer:
    """A model's answer: raw bytes as the model produced them, their content type, their JSON (or None)."""

    body: bytes
    content_type: str
    json: Any = None

    @staticmethod
    def from_json(doc: Any) -> ModelAnswer:
        return ModelAnswer(json.dumps(doc, separators=(",", ":")).encode(), JSON, doc)

    @staticmethod
    def from_remote(body: bytes, content_type: str) -> ModelAnswer:
        doc: Any = None
        if "json" in content_type.lower():
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None  # opaque to us; the caller still gets the bytes
        return ModelAnswer(body, content_type, doc)


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None
