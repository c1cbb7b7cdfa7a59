"""The declared spec of a tensor model (onnx, kserve): input pre-processing + output decoder, as JSON.

Example (a YOLOv8 export)::

    {"input": {"width": 640, "height": 640, "layout": "NCHW", "color": "RGB", "resize": "letterbox",
               "scale": 0.00392156862745098, "mean": [0, 0, 0], "std": [1, 1, 1]},
     "decoder": {"type": "yolov8", "class_names": ["person", "car"], "score_threshold": 0.25,
                 "iou_threshold": 0.45}}
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from videolens.services.errors import InvalidParameterError
from videolens.services.models.errors import ModelError
from videolens.services.models.models import ModelAnswer
from videolens.vision.detection_decoders import DecoderSpec, decode, decoder_names
from videolens.vision.onnx_runner import InputSpec, Transform


class InputSpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the graph input to feed (needed only when the graph has several inputs)
    name: str | None = None
    width: int = Field(ge=1, le=8192)
    height: int = Field(ge=1, le=8192)
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    color: Literal["RGB", "BGR"] = "RGB"
    resize: Literal["stretch", "letterbox"] = "stretch"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    pad_value: int = Field(default=114, ge=0, le=255)
    pad_position: Literal["center", "top-left"] = "center"

    @field_validator("std")
    @classmethod
    def _nonzero(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(v == 0 for v in value):
            raise ValueError("std values must not be 0")
        return value

    def spec(self) -> InputSpec:
        return InputSpec(
            width=self.width,
            height=self.height,
            layout=self.layout,
            color=self.color,
            resize=self.resize,
            scale=self.scale,
            mean=self.mean,
            std=self.std,
            pad_value=self.pad_value,
            pad_position=self.pad_position,
        )


class DecoderSpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = "raw"
    class_names: list[str] = Field(default_factory=list, max_length=10_000)
    score_threshold: float = Field(default=0.25, ge=0, le=1)
    iou_threshold: float = Field(default=0.45, ge=0, le=1)
    max_detections: int = Field(default=100, ge=1, le=10_000)
    outputs: dict[str, str] = Field(default_factory=dict)
    normalized: bool | None = None
    box_order: Literal["xyxy", "yxyx"] = "xyxy"
    background_class: bool = False
    class_offset: int = 0

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in decoder_names():
            raise ValueError(f"unknown decoder {value!r}; known: {', '.join(decoder_names())}")
        return value

    def spec(self) -> DecoderSpec:
        return DecoderSpec(
            type=self.type,
            class_names=tuple(self.class_names),
            score_threshold=self.score_threshold,
            iou_threshold=self.iou_threshold,
            max_detections=self.max_detections,
            outputs=dict(self.outputs),
            normalized=self.normalized,
            box_order=self.box_order,
            background_class=self.background_class,
            class_offset=self.class_offset,
        )


def decode_outputs(
    outputs: dict[str, np.ndarray],
    decoder: DecoderSpec,
    transform: Transform,
    spec: InputSpec,
    *,
    checking: bool,
) -> ModelAnswer:
    """Decode a model's tensors; a layout the decoder cannot read is the spec's fault at registration
    (InvalidParameterError) and the model's fault at run time (ModelError)."""
    try:
        doc: Any = decode(outputs, decoder, transform, (spec.width, spec.height))
    except (ValueError, IndexError) as exc:
        shapes = {name: list(value.shape) for name, value in outputs.items()}
        message = f"decoder {decoder.type} cannot read the outputs {shapes}: {exc}"
        if checking:
            raise InvalidParameterError(message) from exc
        raise ModelError(message) from exc
    return ModelAnswer.from_json(doc)
