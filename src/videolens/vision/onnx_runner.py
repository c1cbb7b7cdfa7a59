"""Run a user's ONNX image model: declared pre-processing (size, layout, colour, normalisation) + session.

Pure compute on numpy frames, no I/O: the bytes of the model come in, tensors come out. The same
`InputSpec` / `preprocess` serve the in-process ONNX kind and the remote KServe kind (which sends the
tensor over HTTP instead of running it here), so one declared spec means the same tensor everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import onnx
import onnxruntime as ort

Layout = Literal["NCHW", "NHWC"]
ColorOrder = Literal["RGB", "BGR"]
ResizeMode = Literal["stretch", "letterbox"]
PadPosition = Literal["center", "top-left"]

_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(uint8)": np.uint8}


class OnnxModelError(ValueError):
    """The bytes are not a usable ONNX image model for the declared spec."""


@dataclass(frozen=True)
class InputSpec:
    """How a decoded RGB frame becomes the model's input tensor: value = (pixel * scale - mean) / std."""

    width: int
    height: int
    layout: Layout = "NCHW"
    color: ColorOrder = "RGB"
    resize: ResizeMode = "stretch"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    #: grey level of the letterbox border (YOLO exports were trained with 114)
    pad_value: int = 114
    #: where the letterboxed image sits: centred (YOLO) or top-left, padded right/bottom (CenterFace)
    pad_position: PadPosition = "center"

    def __post_init__(self) -> None:
        if not (1 <= self.width <= 8192 and 1 <= self.height <= 8192):
            raise ValueError("input width and height must be 1..8192")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError("mean and std need 3 values (one per colour channel)")
        if any(s == 0 for s in self.std):
            raise ValueError("std values must not be 0")

    def tensor_shape(self) -> list[int]:
        if self.layout == "NCHW":
            return [1, 3, self.height, self.width]
        return [1, self.height, self.width, 3]


@dataclass(frozen=True)
class Transform:
    """Where the source image went inside the input tensor; maps model boxes back to source pixels."""

    src_width: int
    src_height: int
    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0

    def to_source(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """(N, 4) boxes in input-tensor pixels → source pixels, clipped to the image."""
        out = np.asarray(boxes_xyxy, dtype=np.float64).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale_x
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale_y
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, self.src_width)
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, self.src_height)
        return out


def preprocess(rgb: np.ndarray, spec: InputSpec, dtype: type = np.float32) -> tuple[np.ndarray, Transform]:
    """HxWx3 uint8 RGB frame → batch-of-one tensor in the spec's layout, colour order and scaling."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise ValueError(f"expected an HxWx3 RGB frame, got shape {rgb.shape}")
    src_h, src_w = rgb.shape[:2]
    image = rgb if spec.color == "RGB" else rgb[:, :, ::-1]
    if spec.resize == "letterbox":
        ratio = min(spec.width / src_w, spec.height / src_h)
        new_w, new_h = max(1, round(src_w * ratio)), max(1, round(src_h * ratio))
        pad_x, pad_y = (spec.width - new_w) // 2, (spec.height - new_h) // 2
        if spec.pad_position == "top-left":
            pad_x = pad_y = 0
        canvas = np.full((spec.height, spec.width, 3), spec.pad_value, dtype=np.uint8)
        canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = _resize(image, new_w, new_h)
        transform = Transform(src_w, src_h, new_w / src_w, new_h / src_h, float(pad_x), float(pad_y))
    else:
        canvas = _resize(image, spec.width, spec.height)
        transform = Transform(src_w, src_h, spec.width / src_w, spec.height / src_h)
    if np.dtype(dtype) == np.uint8:
        tensor = np.ascontiguousarray(canvas)  # quantised models take raw pixels
    else:
        scaled = canvas.astype(np.float32) * np.float32(spec.scale)
        tensor = ((scaled - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)).astype(
            dtype
        )
    if spec.layout == "NCHW":
        tensor = tensor.transpose(2, 0, 1)
    return np.ascontiguousarray(tensor[None]), transform


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return np.ascontiguousarray(image)
    shrinking = width < image.shape[1] and height < image.shape[0]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def prepare_model(model_bytes: bytes, spec: InputSpec, input_name: str | None = None) -> bytes:
    """Check the bytes are an ONNX image model and make its input accept the spec's tensor shape.

    Exporters often freeze the batch and image size (CenterFace declares [10, 3, 32, 32]) although the
    convolutions work at any size; when the declared shape conflicts with the spec, every declared input
    and output dim becomes symbolic so onnxruntime accepts the spec's shape. Weights listed as graph
    inputs are dropped from the inputs, which lets onnxruntime fold batch norms (same outputs, faster).
    """
    try:
        model = onnx.load_from_string(model_bytes)
    except Exception as exc:  # protobuf raises its DecodeError, or others on garbage
        raise OnnxModelError(f"not an ONNX model: {exc.__class__.__name__}") from exc
    weights = {init.name for init in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in weights]
    if not inputs:
        raise OnnxModelError("the ONNX graph has no input")
    target = _pick_input(inputs, input_name)
    dims = target.type.tensor_type.shape.dim
    if len(dims) != 4:
        raise OnnxModelError(f"input {target.name!r} has {len(dims)} dims; an image model takes 4")
    wanted = spec.tensor_shape()
    fixed = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if any(f is not None and f != w for f, w in zip(fixed, wanted, strict=True)):
        for i, dim in enumerate(dims):
            dim.dim_param = f"in_{i}"
        for value in model.graph.output:
            for i, dim in enumerate(value.type.tensor_type.shape.dim):
                dim.dim_param = f"{value.name}_{i}"
        del model.graph.value_info[:]  # shapes inferred for the frozen size would contradict the new one
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    return bytes(model.SerializeToString())


def _pick_input(inputs: list[onnx.ValueInfoProto], name: str | None) -> onnx.ValueInfoProto:
    if name is not None:
        for value in inputs:
            if value.name == name:
                return value
        raise OnnxModelError(f"the ONNX graph has no input {name!r}; inputs: {[v.name for v in inputs]}")
    if len(inputs) > 1:
        raise OnnxModelError(f"the ONNX graph has {len(inputs)} inputs; name the image input in the spec")
    return inputs[0]


def choose_providers(wanted: list[str] | None) -> list[str]:
    """The execution providers to use: the wanted ones that this onnxruntime build has, else CPU."""
    # the Azure provider is a remote-inference shim, never a local accelerator
    available = [p for p in ort.get_available_providers() if p != "AzureExecutionProvider"]
    chosen = [p for p in (wanted or available) if p in available]
    return chosen or ["CPUExecutionProvider"]


@dataclass
class OnnxRunner:
    """One onnxruntime session for a prepared model; `run` is thread-safe (ORT sessions are)."""

    model_bytes: bytes
    spec: InputSpec
    input_name: str | None = None
    providers: list[str] | None = None
    threads: int = 0
    _session: ort.InferenceSession = field(init=False, repr=False)

    def __post_init__(self) -> None:
        prepared = prepare_model(self.model_bytes, self.spec, self.input_name)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = self.threads or max(1, min(4, os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        # spinning idle threads steal the cores other requests need (see vision/detector.py)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                prepared, sess_options=options, providers=choose_providers(self.providers)
            )
        except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph / NotImplemented types
            raise OnnxModelError(f"onnxruntime cannot load the model: {exc}") from exc
        inputs = self._session.get_inputs()
        chosen = (
            inputs[0] if self.input_name is None else next(i for i in inputs if i.name == self.input_name)
        )
        self.input_name = chosen.name
        if chosen.type not in _ORT_DTYPES:
            raise OnnxModelError(
                f"input {chosen.name!r} has type {chosen.type}; supported: float, float16, uint8"
            )
        self.input_dtype: type = _ORT_DTYPES[chosen.type]
        self.output_names = [o.name for o in self._session.get_outputs()]

    @property
    def active_providers(self) -> list[str]:
        return list(self._session.get_providers())

    def run(self, tensor: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self._session.run(self.output_names, {str(self.input_name): tensor})
        return {name: np.asarray(value) for name, value in zip(self.output_names, outputs, strict=True)}

    def __call__(self, rgb: np.ndarray) -> tuple[dict[str, np.ndarray], Transform]:
        tensor, transform = preprocess(rgb, self.spec, self.input_dtype)
        return self.run(tensor), transform
