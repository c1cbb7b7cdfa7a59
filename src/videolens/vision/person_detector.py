"""Person detector: OpenCV's pedestrian HOG + linear SVM (Dalal-Triggs), boxes with a 0..1 score.

`cv2.HOGDescriptor_getDefaultPeopleDetector()` ships in OpenCV 4.x's main wheel and in
opencv-contrib-python-headless 5.x (5.x moved it out of the main wheel). The SVM weight of a window
is a margin, not a probability: the score is its logistic, so the SVM's own threshold (0) maps to 0.5.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from videolens.vision.detection_decoders import Boxes, nms


class PersonDetector:
    """Thread-safe: each thread gets its own HOGDescriptor (cheap), the SVM vector is shared."""

    def __init__(
        self,
        min_score: float = 0.5,
        max_input_side: int = 800,
        win_stride: int = 8,
        scale: float = 1.05,
        iou_threshold: float = 0.45,
    ) -> None:
        self.min_score = min_score
        self.max_input_side = max_input_side
        self.win_stride = win_stride
        self.scale = scale
        self.iou_threshold = iou_threshold
        self._svm = cv2.HOGDescriptor_getDefaultPeopleDetector()  # type: ignore[attr-defined]
        self._local = threading.local()

    def _hog(self) -> cv2.HOGDescriptor:
        hog = getattr(self._local, "hog", None)
        if hog is None:
            hog = cv2.HOGDescriptor()
            hog.setSVMDetector(self._svm)
            self._local.hog = hog
        return hog

    def detect(self, rgb: np.ndarray) -> Boxes:
        """People in an HxWx3 RGB frame: xyxy boxes in its pixels, scores 0..1, class id 0; best first."""
        height, width = rgb.shape[:2]
        if height < 128 or width < 64:  # smaller than one detection window
            return Boxes.empty()
        # HOG cost grows with the pixel count; a standing person is >= 128 px tall at this size
        ratio = min(1.0, self.max_input_side / max(height, width))
        image = rgb if ratio == 1.0 else cv2.resize(rgb, (round(width * ratio), round(height * ratio)))
        stride = (self.win_stride, self.win_stride)
        # colour in: HOG takes each pixel's strongest channel gradient (the channel order does not matter)
        rects, weights = self._hog().detectMultiScale(
            image, winStride=stride, padding=stride, scale=self.scale
        )
        if len(rects) == 0:
            return Boxes.empty()
        rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / ratio
        xyxy = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, dtype=np.float64).ravel()))
        boxes = Boxes(xyxy, scores, np.zeros(len(scores), dtype=np.int64))
        boxes = boxes[scores >= self.min_score]
        return boxes[nms(boxes, self.iou_threshold)]
