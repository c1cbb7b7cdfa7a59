"""The pure compute of the onnx kind: pre-processing and the YOLO / SSD decoders, on real ONNX graphs."""

from __future__ import annotations

import numpy as np
import pytest

from tests.models.onnx_builders import constant_outputs_model, identity_model
from videolens.vision.detection_decoders import Boxes, DecoderSpec, decode, nms
from videolens.vision.onnx_runner import InputSpec, OnnxModelError, OnnxRunner, prepare_model

#: box A of every layout: centre (160, 160), 100 x 80 in a 320 x 320 letterboxed input of a 640 x 480
#: source (ratio 0.5, 40 px bars top and bottom) → source box (220, 160)-(420, 320)
BOX_A = [0.34375, 0.333333, 0.65625, 0.666667]


def _frame(height: int = 480, width: int = 640) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_preprocess_layout_colour_and_normalisation_reach_the_model_exactly() -> None:
    rgb = _frame(4, 6)
    spec = InputSpec(
        width=6,
        height=4,
        layout="NHWC",
        color="BGR",
        scale=1 / 255,
        mean=(0.5, 0.4, 0.3),
        std=(0.2, 0.25, 0.5),
    )
    runner = OnnxRunner(identity_model(4, 6, "NHWC"), spec)
    outputs, transform = runner(rgb)
    expected = ((rgb[:, :, ::-1].astype(np.float32) / 255) - np.float32([0.5, 0.4, 0.3])) / np.float32(
        [0.2, 0.25, 0.5]
    )
    np.testing.assert_allclose(outputs["pixels"][0], expected, rtol=1e-6, atol=1e-6)
    assert (transform.scale_x, transform.scale_y) == (1.0, 1.0)

    nchw = OnnxRunner(identity_model(4, 6), InputSpec(width=6, height=4, scale=1.0))
    out, _ = nchw(rgb)
    np.testing.assert_array_equal(out["pixels"][0], rgb.transpose(2, 0, 1).astype(np.float32))


def test_letterbox_keeps_the_aspect_and_pads_with_the_declared_grey() -> None:
    rgb = np.full((480, 640, 3), 200, np.uint8)
    runner = OnnxRunner(
        identity_model(320, 320), InputSpec(width=320, height=320, resize="letterbox", scale=1.0)
    )
    out, transform = runner(rgb)
    pixels = out["pixels"][0]
    assert pixels.shape == (3, 320, 320)
    assert (pixels[:, :40] == 114).all() and (pixels[:, 280:] == 114).all()  # bars
    assert (pixels[:, 40:280] == 200).all()
    assert (transform.pad_x, transform.pad_y, transform.scale_x) == (0.0, 40.0, 0.5)


def test_a_frozen_input_shape_is_made_dynamic_for_the_declared_size() -> None:
    model = identity_model(8, 8)  # declares [1, 3, 8, 8]
    runner = OnnxRunner(model, InputSpec(width=16, height=12, scale=1.0))
    out, _ = runner(_frame(12, 16))
    assert out["pixels"].shape == (1, 3, 12, 16)


def test_garbage_and_non_image_graphs_are_refused() -> None:
    with pytest.raises(OnnxModelError, match="not an ONNX model"):
        prepare_model(b"\x00\x01 this is not protobuf \xff" * 10, InputSpec(width=8, height=8))
    two_dims = constant_outputs_model([1, 8], {"out": np.zeros((1, 2))})
    with pytest.raises(OnnxModelError, match="has 2 dims"):
        prepare_model(two_dims, InputSpec(width=8, height=8))


def _yolo_rows() -> np.ndarray:
    return np.array(
        [
            [160, 160, 100, 80, 0.9, 0.9, 0.1],  # A, class 0: 0.81
            [165, 160, 100, 80, 0.8, 0.8, 0.2],  # overlaps A, same class, lower: suppressed
            [160, 160, 100, 80, 0.9, 0.1, 0.7],  # A's place, class 1: 0.63, kept (classes never suppress)
            [40, 60, 20, 20, 0.1, 0.5, 0.5],  # 0.05 < threshold
        ],
        dtype=np.float32,
    )


def _run(model: bytes, decoder: DecoderSpec, resize: str = "letterbox") -> dict:
    spec = InputSpec(width=320, height=320, resize=resize)  # type: ignore[arg-type]
    runner = OnnxRunner(model, spec)
    outputs, transform = runner(_frame())
    return decode(outputs, decoder, transform, (320, 320))


def test_yolov5_layout_threshold_nms_and_letterbox_mapping() -> None:
    model = constant_outputs_model([1, 3, 320, 320], {"output0": _yolo_rows()[None]})
    doc = _run(model, DecoderSpec(type="yolov5", class_names=("person", "car")))
    assert doc == {
        "prediction": [[0, 0.81, *BOX_A], [1, 0.63, *BOX_A]],
        "class_names": ["person", "car"],
    }


def test_yolov8_channels_first_layout() -> None:
    rows = _yolo_rows()
    v8 = np.concatenate([rows[:, :4], rows[:, 4:5] * rows[:, 5:]], axis=1)  # scores without objectness
    model = constant_outputs_model([1, 3, 320, 320], {"output0": v8.T[None]})  # (1, 4 + C, N)
    doc = _run(model, DecoderSpec(type="yolov8", class_names=("person", "car")))
    assert doc["prediction"] == [[0, 0.81, *BOX_A], [1, 0.63, *BOX_A]]


def test_ssd_tensorflow_layout_with_count_box_order_and_class_offset() -> None:
    boxes = np.array([[[0.25, 0.1, 0.75, 0.5], [0.0, 0.0, 0.5, 0.5], [0.1, 0.1, 0.2, 0.2]]])  # yxyx
    model = constant_outputs_model(
        [1, 3, 320, 320],
        {
            "detection_boxes": boxes,
            "detection_scores": np.array([[0.95, 0.3, 0.99]]),
            "detection_classes": np.array([[1.0, 3.0, 2.0]]),
            "num_detections": np.array([2.0]),  # the third row is padding and must be ignored
        },
    )
    decoder = DecoderSpec(
        type="ssd",
        outputs={
            "boxes": "detection_boxes",
            "scores": "detection_scores",
            "classes": "detection_classes",
            "count": "num_detections",
        },
        box_order="yxyx",
        class_offset=-1,
    )
    doc = _run(model, decoder, resize="stretch")
    assert doc["prediction"] == [[0, 0.95, 0.1, 0.25, 0.5, 0.75], [2, 0.3, 0.0, 0.0, 0.5, 0.5]]


def test_ssd_per_class_scores_with_a_background_column() -> None:
    model = constant_outputs_model(
        [1, 3, 320, 320],
        {
            "boxes": np.array([[[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.9, 0.9]]]),
            "scores": np.array([[[0.1, 0.9], [0.95, 0.05]]]),
        },
    )
    doc = _run(model, DecoderSpec(type="ssd", background_class=True), resize="stretch")
    assert doc["prediction"] == [[0, 0.9, 0.1, 0.2, 0.3, 0.4]]  # the second box is background


def test_raw_decoder_and_a_decoder_that_does_not_fit() -> None:
    model = constant_outputs_model([1, 3, 32, 32], {"logits": np.array([[0.5, 1.5, -2.0]])})
    runner = OnnxRunner(model, InputSpec(width=32, height=32))
    outputs, transform = runner(_frame(10, 10))
    raw = decode(outputs, DecoderSpec(type="raw"), transform, (32, 32))
    assert raw == {
        "outputs": [{"name": "logits", "shape": [1, 3], "datatype": "float32", "data": [0.5, 1.5, -2.0]}]
    }
    with pytest.raises(ValueError, match="yolov5 output rows need >= 5"):
        decode(outputs, DecoderSpec(type="yolov5"), transform, (32, 32))
    with pytest.raises(ValueError, match="unknown decoder"):
        decode(outputs, DecoderSpec(type="yolov99"), transform, (32, 32))


def test_nms_keeps_the_best_of_overlapping_boxes_per_class() -> None:
    boxes = Boxes(
        np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], float),
        np.array([0.5, 0.9, 0.8, 0.1]),
        np.array([0, 0, 1, 0]),
    )
    assert nms(boxes, 0.5).tolist() == [1, 2, 3]
    assert nms(boxes, 0.5, class_aware=False).tolist() == [1, 3]
