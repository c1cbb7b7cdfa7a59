"""Output decoders of image models: raw tensors as JSON, or YOLOv5 / YOLOv8 / SSD / CenterFace detections.

Pure compute: named output tensors (+ the pre-processing `Transform`) in, a JSON-able answer out.
Detection decoders answer in the SageMaker object-detection format that the Kinesis Video inference
template's consumers read, `{"prediction": [[class_id, score, xmin, ymin, xmax, ymax], ...]}`, with
coordinates as ratios of the source image, best score first; `class_names` is added when declared.
Decoders register by name (`@decoder("yolov8")`); a spec names one, unknown names are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from videolens.vision.onnx_runner import Transform

Outputs = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class DecoderSpec:
    """What a decoder needs besides the tensors; unused fields are ignored by the other decoders."""

    type: str = "raw"
    class_names: tuple[str, ...] = ()
    score_threshold: float = 0.25
    iou_threshold: float = 0.45
    max_detections: int = 100
    #: tensor names by role ("boxes", "scores", "classes", "count", "heatmap", ...); default: output order
    outputs: Mapping[str, str] = field(default_factory=dict)
    #: coordinates of boxes: ratios of the input tensor (SSD exports) or its pixels (YOLO exports)
    normalized: bool | None = None
    box_order: Literal["xyxy", "yxyx"] = "xyxy"
    #: SSD per-class scores whose column 0 is the background class (dropped; ids shift down by one)
    background_class: bool = False
    #: added to class ids read from a classes tensor (TF exports count from 1: use -1)
    class_offset: int = 0


@dataclass(frozen=True)
class Boxes:
    """Detections as columns: (N, 4) xyxy boxes, (N,) scores, (N,) integer class ids."""

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    @staticmethod
    def empty() -> Boxes:
        return Boxes(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))

    def __getitem__(self, index: np.ndarray) -> Boxes:
        return Boxes(self.xyxy[index], self.scores[index], self.class_ids[index])


Decoder = Callable[[Outputs, DecoderSpec, Transform, tuple[int, int]], dict[str, Any]]
_DECODERS: dict[str, Decoder] = {}


def decoder(name: str) -> Callable[[Decoder], Decoder]:
    def register(fn: Decoder) -> Decoder:
        if name in _DECODERS:
            raise ValueError(f"decoder {name!r} is registered twice")
        _DECODERS[name] = fn
        return fn

    return register


def decoder_names() -> list[str]:
    return sorted(_DECODERS)


def decode(
    outputs: Outputs, spec: DecoderSpec, transform: Transform, input_size: tuple[int, int]
) -> dict[str, Any]:
    """Run the spec's decoder; `input_size` is the model input's (width, height) in pixels."""
    fn = _DECODERS.get(spec.type)
    if fn is None:
        raise ValueError(f"unknown decoder {spec.type!r}; known: {', '.join(decoder_names())}")
    return fn(outputs, spec, transform, input_size)


# -- raw ------------------------------------------------------------------------------------------


@decoder("raw")
def _raw(
    outputs: Outputs, spec: DecoderSpec, transform: Transform, input_size: tuple[int, int]
) -> dict[str, Any]:
    """Every output tensor, KServe-v2-like: name, shape, datatype, flat data."""
    return {
        "outputs": [
            {
                "name": name,
                "shape": list(value.shape),
                "datatype": str(value.dtype),
                "data": np.asarray(value).ravel().tolist(),
            }
            for name, value in outputs.items()
        ]
    }


# -- detections -----------------------------------------------------------------------------------


def nms(boxes: Boxes, iou_threshold: float, class_aware: bool = True) -> np.ndarray:
    """Greedy non-maximum suppression; kept indices, best score first. Classes never suppress each other."""
    if len(boxes.scores) == 0:
        return np.zeros(0, dtype=np.int64)
    xyxy = boxes.xyxy.astype(np.float64)
    if class_aware:  # shift each class to its own region so boxes of different classes never overlap
        xyxy = xyxy + (boxes.class_ids.astype(np.float64) * (xyxy.max() + 1.0))[:, None]
    order = np.argsort(-boxes.scores, kind="stable")
    x1, y1, x2, y2 = xyxy[:, 0], xyxy[:, 1], xyxy[:, 2], xyxy[:, 3]
    areas = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _prediction(boxes: Boxes, spec: DecoderSpec, transform: Transform) -> dict[str, Any]:
    """Threshold → NMS → cap → source-image ratios in the SageMaker object-detection format."""
    boxes = boxes[boxes.scores >= spec.score_threshold]
    boxes = boxes[nms(boxes, spec.iou_threshold)[: spec.max_detections]]
    src = transform.to_source(boxes.xyxy) if len(boxes.scores) else np.zeros((0, 4))
    size = np.array([transform.src_width, transform.src_height] * 2, dtype=np.float64)
    ratios = src / size
    prediction = [
        [int(c), round(float(s), 6), *(round(float(v), 6) for v in r)]
        for c, s, r in zip(boxes.class_ids, boxes.scores, ratios, strict=True)
    ]
    doc: dict[str, Any] = {"prediction": prediction}
    if spec.class_names:
        doc["class_names"] = list(spec.class_names)
    return doc


def _tensor(outputs: Outputs, spec: DecoderSpec, role: str, position: int) -> np.ndarray:
    name = spec.outputs.get(role)
    if name is not None:
        if name not in outputs:
            raise ValueError(f"decoder {spec.type}: the model has no output {name!r} (for {role})")
        return np.asarray(outputs[name])
    values = list(outputs.values())
    if position >= len(values):
        raise ValueError(f"decoder {spec.type}: the model has {len(values)} outputs, no {role} output")
    return np.asarray(values[position])


def _squeeze_batch(array: np.ndarray, ndim: int, what: str) -> np.ndarray:
    if array.ndim == ndim + 1:
        if array.shape[0] != 1:
            raise ValueError(f"{what}: batch of {array.shape[0]}, expected 1")
        array = array[0]
    if array.ndim != ndim:
        raise ValueError(f"{what}: expected {ndim} dims (after the batch), got shape {array.shape}")
    return array


def _cxcywh(rows: np.ndarray) -> np.ndarray:
    cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def _to_input_pixels(xyxy: np.ndarray, normalized: bool, input_size: tuple[int, int]) -> np.ndarray:
    if not normalized:
        return xyxy
    w, h = input_size
    return xyxy * np.array([w, h, w, h], dtype=np.float64)


@decoder("yolov5")
def _yolov5(
    outputs: Outputs, spec: DecoderSpec, transform: Transform, input_size: tuple[int, int]
) -> dict[str, Any]:
    """(1, N, 5 + C): cx, cy, w, h, objectness, class scores; score = objectness x best class score."""
    rows = _squeeze_batch(_tensor(outputs, spec, "output", 0), 2, "yolov5 output").astype(np.float64)
    if rows.shape[1] < 5:
        raise ValueError(f"yolov5 output rows need >= 5 values, got {rows.shape[1]}")
    objectness = rows[:, 4]
    if rows.shape[1] == 5:  # single-class export
        class_ids, scores = np.zeros(len(rows), dtype=np.int64), objectness
    else:
        class_ids = rows[:, 5:].argmax(axis=1)
        scores = objectness * rows[np.arange(len(rows)), 5 + class_ids]
    xyxy = _to_input_pixels(_cxcywh(rows), bool(spec.normalized), input_size)
    return _prediction(Boxes(xyxy, scores, class_ids), spec, transform)


@decoder("yolov8")
def _yolov8(
    outputs: Outputs, spec: DecoderSpec, transform: Transform, input_size: tuple[int, int]
) -> dict[str, Any]:
    """(1, 4 + C, N) as exported by ultralytics (v8, v11): cx, cy, w, h, class scores; no objectness."""
    out = _squeeze_batch(_tensor(outputs, spec, "output", 0), 2, "yolov8 output").astype(np.float64)
    expected = 4 + len(spec.class_names) if spec.class_names else None
    already_rows = expected is not None and out.shape[0] != expected and out.shape[1] == expected
    rows = out if already_rows else out.T
    if rows.shape[1] < 5:
        raise ValueError(f"yolov8 output needs >= 5 channels, got shape {out.shape}")
    class_ids = rows[:, 4:].argmax(axis=1)
    scores = rows[np.arange(len(rows)), 4 + class_ids]
    xyxy = _to_input_pixels(_cxcywh(rows), bool(spec.normalized), input_size)
    return _prediction(Boxes(xyxy, scores, class_ids), spec, transform)


@decoder("ssd")
def _ssd(
    outputs: Outputs, spec: DecoderSpec, transform: Transform, input_size: tuple[int, int]
) -> dict[str, Any]:
    """boxes (1, N, 4) + scores (1, N) with classes (1, N), or per-class scores (1, N, C); count optional."""
    boxes = _squeeze_batch(_tensor(outputs, spec, "boxes", 0), 2, "ssd boxes").astype(np.float64)
    scores = np.asarray(_tensor(outputs, spec, "scores", 1), dtype=np.float64)
    if scores.ndim >= 1 and scores.shape[0] == 1 and scores.ndim > 1:
        scores = scores[0]
    if scores.ndim == 2:  # per-class scores
        first = 1 if spec.background_class else 0
        class_ids = scores[:, first:].argmax(axis=1)
        best = scores[np.arange(len(scores)), first + class_ids]
    elif scores.ndim == 1:
        best = scores
        if "classes" in spec.outputs or len(outputs) > 2:
            classes = _squeeze_batch(_tensor(outputs, spec, "classes", 2), 1, "ssd classes")
            class_ids = np.rint(classes).astype(np.int64) + spec.class_offset
        else:
            class_ids = np.zeros(len(best), dtype=np.int64)
    else:
        raise ValueError(f"ssd scores: expected (N,) or (N, C), got shape {scores.shape}")
    if len(best) != len(boxes):
        raise ValueError(f"ssd: {len(boxes)} boxes but {len(best)} scores")
    if "count" in spec.outputs:
        count = int(np.asarray(outputs[spec.outputs["count"]]).ravel()[0])
        boxes, best, class_ids = boxes[:count], best[:count], class_ids[:count]
    if spec.box_order == "yxyx":
        boxes = boxes[:, [1, 0, 3, 2]]
    normalized = True if spec.normalized is None else spec.normalized
    xyxy = _to_input_pixels(boxes, normalized, input_size)
    return _prediction(Boxes(xyxy, best, class_ids.astype(np.int64)), spec, transform)


@decoder("centerface")
def _centerface(
    outputs: Outputs, spec: DecoderSpec, transform: Transform, input_size: tuple[int, int]
) -> dict[str, Any]:
    """CenterNet-style face maps at stride 4: heatmap (1,1,h,w), log sizes (1,2,h,w), offsets (1,2,h,w)."""
    heatmap = _squeeze_batch(_tensor(outputs, spec, "heatmap", 0), 3, "centerface heatmap")[0]
    sizes = _squeeze_batch(_tensor(outputs, spec, "scale", 1), 3, "centerface scale")
    offsets = _squeeze_batch(_tensor(outputs, spec, "offset", 2), 3, "centerface offset")
    stride = input_size[0] / heatmap.shape[1]
    rows, cols = np.nonzero(heatmap > spec.score_threshold)
    scores = heatmap[rows, cols].astype(np.float64)
    box_h = np.exp(sizes[0, rows, cols]) * stride
    box_w = np.exp(sizes[1, rows, cols]) * stride
    cy = (rows + offsets[0, rows, cols] + 0.5) * stride
    cx = (cols + offsets[1, rows, cols] + 0.5) * stride
    xyxy = np.stack([cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2], axis=1)
    return _prediction(Boxes(xyxy, scores, np.zeros(len(scores), dtype=np.int64)), spec, transform)
