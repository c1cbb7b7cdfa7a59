"""Lazily loaded vision models shared by the services of one process (loaded on first use)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from videolens.runtime.settings import Settings

if TYPE_CHECKING:
    from videolens.vision.attributes import FaceAnalyzer
    from videolens.vision.detector import FaceDetector
    from videolens.vision.embedder import FaceEmbedder


class ModelRegistry:
    """Holds the face models of one process; nothing loads until a service needs it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._detector: FaceDetector | None = None
        self._embedder: FaceEmbedder | None = None
        self._analyzer: FaceAnalyzer | None = None

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    from videolens.vision.detector import FaceDetector

                    self._detector = FaceDetector(
                        threshold=self._settings.detection_threshold,
                        min_face_size=self._settings.min_face_size,
                    )
        return self._detector

    @property
    def embedder(self) -> FaceEmbedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from videolens.vision.embedder import FaceEmbedder

                    self._embedder = FaceEmbedder()
        return self._embedder

    @property
    def analyzer(self) -> FaceAnalyzer:
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    from videolens.vision.attributes import FaceAnalyzer

                    self._analyzer = FaceAnalyzer()
        return self._analyzer
