"""The `face-detection` and `face-search` job types (Rekognition Video StartFaceDetection, StartFaceSearch).

Registered by the composition root (`videolens/container.py`) with the jobs service's registry; the
analysis itself is `face_pipeline.FaceVideoAnalyzer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from videolens.media.errors import MediaError
from videolens.runtime.settings import Settings
from videolens.services.errors import InvalidMediaError, InvalidParameterError
from videolens.services.faces.service import FacesService
from videolens.services.jobs.registry import JobOutcome, JobRun
from videolens.services.sightings.models import SightingsSink
from videolens.services.storage.service import StorageService
from videolens.services.video_analysis.face_pipeline import AnalysisOutput, FaceVideoAnalyzer
from videolens.vision.models import ModelRegistry


class _FaceVideoJob:
    """What both face job types share: the analyser, the stored video, the outcome they store."""

    def __init__(
        self,
        settings: Settings,
        storage: StorageService,
        faces: FacesService,
        models: ModelRegistry,
        sightings: SightingsSink | None = None,
    ) -> None:
        self.sightings = sightings
        self.settings = settings
        self.storage = storage
        self.faces = faces
        self.models = models

    def _analyze(self, run: JobRun) -> JobOutcome:
        analyzer = FaceVideoAnalyzer(
            self.faces,
            self.models,
            self.settings.job_sample_ms,
            self.settings.job_detect_every,
            self.settings.job_detect_max_side,
            sink=self.sightings,
        )
        job = run.job
        try:
            with self.storage.open_object_path(job.bucket, job.key) as path:
                result = self._scan(analyzer, run, path)
        except MediaError as exc:  # media/ has its own error; the service's taxonomy names it
            raise InvalidMediaError(str(exc)) from exc
        summary = {"frames": result.frames, "tracks": result.tracks, "persons": result.persons}
        return JobOutcome(result.entries, result.metadata.to_dict(), summary)

    def _scan(self, analyzer: FaceVideoAnalyzer, run: JobRun, path: Path) -> AnalysisOutput:
        raise NotImplementedError


class FaceDetectionJob(_FaceVideoJob):
    """Every face of the video, per sampled time step, with the requested attribute level."""

    name = "face-detection"
    api_name = "StartFaceDetection"

    def check_params(self, params: dict[str, Any]) -> None:
        if params.get("attributes", "DEFAULT") not in ("DEFAULT", "ALL"):
            raise InvalidParameterError("FaceAttributes must be DEFAULT or ALL")

    def run(self, run: JobRun) -> JobOutcome:
        return self._analyze(run)

    def _scan(self, analyzer: FaceVideoAnalyzer, run: JobRun, path: Path) -> AnalysisOutput:
        attributes = run.job.params.get("attributes", "DEFAULT")
        return analyzer.detect(path, attributes, run.progress, run.should_stop, run.job.key)


class FaceSearchJob(_FaceVideoJob):
    """The persons of the video, each matched once against a face collection."""

    name = "face-search"
    api_name = "StartFaceSearch"

    def check_params(self, params: dict[str, Any]) -> None:
        collection_id = params.get("collection_id")
        if not isinstance(collection_id, str) or not collection_id:
            raise InvalidParameterError("a face search needs a collection_id")
        self.faces.describe_collection(collection_id)  # NotFoundError when missing
        threshold = params.get("threshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0.0 <= threshold <= 100.0
        ):
            raise InvalidParameterError("FaceMatchThreshold must be a number within 0..100")

    def run(self, run: JobRun) -> JobOutcome:
        return self._analyze(run)

    def _scan(self, analyzer: FaceVideoAnalyzer, run: JobRun, path: Path) -> AnalysisOutput:
        params = run.job.params
        return analyzer.search(
            path,
            params["collection_id"],
            params.get("threshold"),
            run.progress,
            run.should_stop,
            run.job.key,
            source=f"s3://{run.job.bucket}/{run.job.key}",
        )
