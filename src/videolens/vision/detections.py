"""`Detections`: the one columnar value every pipeline stage takes and returns (boxes, scores, tracks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from videolens.vision.types import Detection


def _empty_landmarks() -> np.ndarray:
    return np.zeros((0, 5, 2), dtype=np.float32)


@dataclass(frozen=True)
class Detections:
    """Faces on one frame: `xyxy` (N, 4) pixels of the full frame, `score` (N,), `landmarks` (N, 5, 2),
    `track_id` (N,) (-1 until the tracker assigned one) and `detected` (N,): found by the detector on
    this very frame, as opposed to interpolated / held / back-filled by the tracker.
    """

    xyxy: np.ndarray
    score: np.ndarray
    landmarks: np.ndarray = field(default_factory=_empty_landmarks)
    track_id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    detected: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or self.score.shape != (n,):
            raise ValueError(f"xyxy must be (N, 4) and score (N,), got {self.xyxy.shape}, {self.score.shape}")
        # defaults stand for "not known yet": fill them to length N so every column has one row per face
        if len(self.landmarks) != n:
            object.__setattr__(self, "landmarks", np.zeros((n, 5, 2), dtype=np.float32))
        if len(self.track_id) != n:
            object.__setattr__(self, "track_id", np.full(n, -1, dtype=np.int64))
        if len(self.detected) != n:
            object.__setattr__(self, "detected", np.ones(n, dtype=bool))

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.float32))

    @classmethod
    def from_list(cls, detections: Sequence[Detection], track_ids: Sequence[int] | None = None) -> Detections:
        if not detections:
            return cls.empty()
        return cls(
            xyxy=np.array([[d.x1, d.y1, d.x2, d.y2] for d in detections], dtype=np.float32),
            score=np.array([d.score for d in detections], dtype=np.float32),
            landmarks=np.stack([np.asarray(d.landmarks, dtype=np.float32) for d in detections]),
            track_id=np.asarray(
                track_ids if track_ids is not None else [-1] * len(detections), dtype=np.int64
            ),
            detected=np.ones(len(detections), dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice | int) -> Detections:
        """A new value with the rows of `index` (a boolean mask, indices or a slice)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return Detections(
            self.xyxy[index],
            self.score[index],
            self.landmarks[index],
            self.track_id[index],
            self.detected[index],
        )

    def to_list(self) -> list[Detection]:
        return [
            Detection(
                x1=float(b[0]), y1=float(b[1]), x2=float(b[2]), y2=float(b[3]), score=float(s), landmarks=lm
            )
            for b, s, lm in zip(self.xyxy, self.score, self.landmarks, strict=True)
        ]

    def box(self, i: int) -> tuple[float, float, float, float]:
        b = self.xyxy[i]
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of `a` (N, 4) with every box of `b` (M, 4) → (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)
