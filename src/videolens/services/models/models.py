"""Public value types of the models capability: what goes into a model, what comes back, a model's record.

In: encoded image bytes with their content type (a REST / InvokeEndpoint body) or a decoded RGB frame
(an analyzer's sampled frame); each form is produced from the other at most once, on demand, so a
remote model gets the original bytes untouched and an in-process model decodes them once.
Out: the model's raw answer bytes + content type (what InvokeEndpoint returns) and their JSON reading.
Record: `ModelInfo`, what list / describe return in every front door (secrets masked).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cv2
import numpy as np

from videolens.media.images import ImageDecodeError, decode_image
from videolens.services.errors import InvalidImageError, InvalidParameterError

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


#: SageMaker's EndpointName rule, so every registered model can be invoked through InvokeEndpoint
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
#: config keys whose values are secrets: shown as "***"
SECRET_KEYS = ("headers",)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 63 or not _NAME_RE.match(name):
        raise InvalidParameterError(
            f"invalid model name {name!r}: 1-63 letters, digits and inner hyphens (SageMaker's endpoint rule)"
        )
    return name


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: str
    config: dict[str, Any]
    created_at: datetime
    version: str
    #: facts learnt at registration (output shapes, remote input, providers)
    details: dict[str, Any] = field(default_factory=dict)
    file_size: int | None = None
    file_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "config": self.config,
            "details": self.details,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "file_size": self.file_size,
            "file_sha256": self.file_sha256,
        }


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    for key in SECRET_KEYS:
        if isinstance(out.get(key), dict) and out[key]:
            out[key] = {k: "***" for k in out[key]}
    return out
