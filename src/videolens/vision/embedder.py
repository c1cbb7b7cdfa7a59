"""Face embedder: dlib 5-point alignment to a 150x150 chip, then the dlib ResNet 128-d descriptor."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import dlib
import face_recognition_models
import numpy as np

from videolens.vision.types import Detection

CHIP_SIZE = 150
CHIP_PADDING = 0.25
DESCRIPTOR_SIZE = 128


def detection_rectangle(det: Detection) -> dlib.rectangle:
    """The detection box as a dlib rectangle (integer pixels)."""
    return dlib.rectangle(round(det.x1), round(det.y1), round(det.x2), round(det.y2))


def to_rgb(image_bgr: np.ndarray) -> np.ndarray:
    """dlib works on contiguous RGB uint8 arrays."""
    return np.ascontiguousarray(image_bgr[:, :, ::-1])


class FaceEmbedder:
    """One alignment for stored and probe faces alike.

    dlib's 5-point shape predictor runs inside the detector's box, `dlib.get_face_chips` warps the face
    to a 150x150 chip (padding 0.25) and the ResNet computes the descriptor with no jittering. dlib's
    Python objects are not documented as thread-safe, so calls are serialized by a lock; the network
    itself is single-threaded in the `dlib-bin` build, so a lock costs no parallelism there.
    """

    def __init__(self) -> None:
        self._predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self._network = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        self._lock = threading.Lock()

    def chips(self, image_bgr: np.ndarray, detections: Sequence[Detection]) -> list[np.ndarray]:
        """Aligned 150x150 RGB face chips, one per detection."""
        if not detections:
            return []
        rgb = to_rgb(image_bgr)
        with self._lock:
            shapes = dlib.full_object_detections()
            for det in detections:
                shapes.append(self._predictor(rgb, detection_rectangle(det)))
            return [np.asarray(chip) for chip in dlib.get_face_chips(rgb, shapes, CHIP_SIZE, CHIP_PADDING)]

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Descriptors (N, 128) float32 of aligned chips."""
        if not chips:
            return np.zeros((0, DESCRIPTOR_SIZE), dtype=np.float32)
        with self._lock:
            descriptors = self._network.compute_face_descriptor([np.ascontiguousarray(c) for c in chips], 0)
        return np.asarray([np.asarray(d) for d in descriptors], dtype=np.float32)

    def embed(self, image_bgr: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        """Descriptors (N, 128) float32, one per detection, in the same order."""
        return self.embed_chips(self.chips(image_bgr, detections))
