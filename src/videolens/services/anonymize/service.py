"""The one anonymization implementation behind the CLI, `videolens.anonymize()` and the REST jobs."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from videolens.media.images import ImageDecodeError, decode_image
from videolens.media.video_transcode import EncodeOptions, MediaError, probe_video, transcode_video
from videolens.services.anonymize.boxes_json import BoxesLog
from videolens.services.anonymize.job import AnonymizeJob, open_output
from videolens.services.anonymize.options import AnonymizeOptions, default_output
from videolens.services.anonymize.pipeline import AnonymizePipeline, FaceBox, FrameBoxes
from videolens.services.anonymize.sparing import SpareDecider, SpareMatcher
from videolens.services.anonymize.uploads import (
    UPLOAD_BUCKET,
    start_stored_upload_job,
    start_upload_job,
    store_upload,
    upload_params,
)
from videolens.services.errors import InvalidMediaError, InvalidParameterError, NotFoundError
from videolens.services.jobs.models import Job
from videolens.services.jobs.service import JobsService
from videolens.services.storage.models import ObjectInfo
from videolens.services.storage.service import StorageService
from videolens.vision.detector import FaceDetector, video_pipeline_threads
from videolens.vision.embedder import FaceEmbedder
from videolens.vision.redaction import redact, scaled_box

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".ts", ".mts", ".flv", ".mpg", ".mpeg")
#: photos are detected at up to this side (small faces in large photos matter more than speed there)
IMAGE_DETECT_SIDE = 2048

ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class AnonymizeResult:
    input: Path
    output: Path
    kind: str  # "video" | "image"
    frames: int
    faces: int  # distinct tracks (video) or faces (image)
    spared: int
    elapsed_s: float
    warning: str | None = None  # e.g. where a truncated input stopped
    copied_streams: tuple[str, ...] = ()

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


class AnonymizeService:
    """Hides faces in videos and images; models are loaded once and shared by every call."""

    def __init__(self, embedder_factory: Callable[[], FaceEmbedder] | None = None) -> None:
        self._detector: FaceDetector | None = None
        self._embedder: FaceEmbedder | None = None
        # the server passes its shared model registry's embedder; alone we load our own
        self._embedder_factory = embedder_factory or FaceEmbedder
        self._lock = threading.Lock()

    def detector(self, max_side: int) -> FaceDetector:
        # one ONNX session for every detection size: the size is user input (a job parameter), and a
        # session per distinct value would grow the process without bound. Its onnxruntime threads
        # leave a core to decode + encode (video_pipeline_threads); a photo shares them
        with self._lock:
            if self._detector is None:
                self._detector = FaceDetector(
                    threshold=0.2, min_face_size=6, threads=video_pipeline_threads()
                )
            return self._detector.with_max_input_side(max_side)

    def embedder(self) -> FaceEmbedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory()
            return self._embedder

    def anonymize_file(
        self,
        input_path: str | Path,
        output_path: str | Path | None = None,
        options: AnonymizeOptions | None = None,
        *,
        matcher: SpareMatcher | None = None,
        boxes_json: str | Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> AnonymizeResult:
        """Anonymize one video or image file into `output_path` (default: `<name>_anonymized.<ext>`).

        `progress(done, total)` is called after every encoded frame; an exception it raises (a stop
        request) propagates out of this call and the partial output is removed.
        """
        options = options or AnonymizeOptions()
        src = Path(input_path)
        if not src.is_file():
            raise InvalidParameterError(f"input not found: {src}")
        dst = Path(output_path) if output_path is not None else default_output(src)
        if dst.resolve() == src.resolve():
            raise InvalidParameterError(f"output would overwrite the input: {dst}")
        if options.spare_collection is not None and matcher is None:
            raise InvalidParameterError("sparing a collection needs a matcher (the faces service)")
        if is_image_path(src):
            return self._image(src, dst, options, matcher, boxes_json)
        return self._video(src, dst, options, matcher, boxes_json, progress)

    # live video (channels) ---------------------------------------------------------------------
    LIVE_OPTION_NAMES = (
        "mode",
        "shape",
        "mask_scale",
        "mosaic_size",
        "threshold",
        "detect_every",
        "detect_max_side",
        "spare_threshold",
    )

    @classmethod
    def live_options(cls, spec: dict[str, Any]) -> AnonymizeOptions:
        """Options from a plain spec (a channel's anonymize field or tag); InvalidParameterError if bad."""
        unknown = sorted(set(spec) - set(cls.LIVE_OPTION_NAMES) - {"spare_collection", "color"})
        if unknown:
            raise InvalidParameterError(f"unknown anonymize option(s): {', '.join(unknown)}")
        values = {k: spec[k] for k in cls.LIVE_OPTION_NAMES if spec.get(k) is not None}
        if isinstance(spec.get("color"), list | tuple):
            values["color"] = tuple(int(c) for c in spec["color"])
        try:
            return AnonymizeOptions(**values, spare_collection=spec.get("spare_collection"))
        except TypeError as exc:
            raise InvalidParameterError(f"bad anonymize option: {exc}") from exc

    def live_processor(
        self,
        spec: dict[str, Any],
        fps: float | None,
        size: tuple[int, int],
        matcher: SpareMatcher | None = None,
    ) -> AnonymizePipeline:
        """A FrameProcessor for live video: the same tracking + look-ahead as files, frame by frame.

        Frames come back in order, late by at most the look-ahead (the detection interval + ~0.3 s).
        """
        options = self.live_options(spec)
        spare = (
            SpareDecider(matcher, self.embedder(), options.spare_threshold) if matcher is not None else None
        )
        return AnonymizePipeline(self.detector(options.detect_max_side), options, fps, size, spare=spare)

    # video --------------------------------------------------------------------------------------
    def _video(
        self,
        src: Path,
        dst: Path,
        options: AnonymizeOptions,
        matcher: SpareMatcher | None,
        boxes_json: str | Path | None,
        progress: ProgressCallback | None,
    ) -> AnonymizeResult:
        started = time.perf_counter()
        detector = self.detector(options.detect_max_side)
        spare = (
            SpareDecider(matcher, self.embedder(), options.spare_threshold) if matcher is not None else None
        )
        log_boxes: BoxesLog | None = None

        try:
            info = probe_video(src)
        except MediaError as exc:
            raise InvalidMediaError(str(exc)) from exc
        fps = float(info.frame_rate) if info.frame_rate else None
        if boxes_json is not None:
            log_boxes = BoxesLog(src.name, info.width, info.height, fps)

        pipeline = AnonymizePipeline(
            detector,
            options,
            fps,
            (info.width, info.height),
            spare=spare,
            on_frame=log_boxes.add if log_boxes is not None else None,
        )

        encode = EncodeOptions(
            codec=options.codec, crf=options.crf, preset=options.preset, threads=options.threads
        )
        try:
            result = transcode_video(src, dst, pipeline, encode, progress)
        except MediaError as exc:
            dst.unlink(missing_ok=True)
            raise InvalidMediaError(str(exc)) from exc
        except BaseException:
            # a progress callback may stop the run (a cancelled job): leave no half-written output
            dst.unlink(missing_ok=True)
            raise
        if log_boxes is not None and boxes_json is not None:
            log_boxes.write(boxes_json)
        stats = pipeline.stats
        elapsed = time.perf_counter() - started
        return AnonymizeResult(
            input=src,
            output=dst,
            kind="video",
            frames=result.frames,
            faces=len(stats.tracks),
            spared=len(stats.spared_tracks),
            elapsed_s=elapsed,
            warning=_warning(result.warning, result.skipped_streams, dst.suffix),
            copied_streams=tuple(result.copied_streams),
        )

    # image --------------------------------------------------------------------------------------
    def _image(
        self,
        src: Path,
        dst: Path,
        options: AnonymizeOptions,
        matcher: SpareMatcher | None,
        boxes_json: str | Path | None,
    ) -> AnonymizeResult:
        started = time.perf_counter()
        try:
            image = decode_image(src.read_bytes())
        except ImageDecodeError as exc:
            raise InvalidMediaError(f"{src.name}: {exc}") from exc
        height, width = image.shape[:2]
        detector = self.detector(max(options.detect_max_side, IMAGE_DETECT_SIDE))
        detections = detector.detect(image, threshold=options.threshold)
        spared = [False] * len(detections)
        if matcher is not None and detections:
            embeddings = self.embedder().embed(image, detections)
            spared = [matcher.best_similarity(e) >= options.spare_threshold for e in embeddings]
        style = options.style
        faces = []
        for i, (det, keep) in enumerate(zip(detections, spared, strict=True)):
            box = (det.x1, det.y1, det.x2, det.y2)
            faces.append(
                FaceBox(i + 1, box, scaled_box(box, style.mask_scale, width, height), det.score, True, keep)
            )
        redact(image, [f.box for f in faces if not f.spared], style)
        dst.parent.mkdir(parents=True, exist_ok=True)
        suffix = dst.suffix.lower() if dst.suffix.lower() in IMAGE_SUFFIXES else ".jpg"
        params = [cv2.IMWRITE_JPEG_QUALITY, 92] if suffix in (".jpg", ".jpeg") else []
        ok, encoded = cv2.imencode(suffix, image, params)
        if not ok:
            raise InvalidParameterError(f"cannot encode an image as {suffix}")
        dst.write_bytes(encoded.tobytes())
        if boxes_json is not None:
            log_boxes = BoxesLog(src.name, width, height, None)
            log_boxes.add(FrameBoxes(0, None, None, tuple(faces)))
            log_boxes.write(boxes_json)
        return AnonymizeResult(
            input=src,
            output=dst,
            kind="image",
            frames=1,
            faces=len(faces),
            spared=sum(spared),
            elapsed_s=time.perf_counter() - started,
        )


def _warning(truncation: str | None, skipped: list[str], suffix: str) -> str | None:
    parts = [truncation] if truncation else []
    if skipped:
        parts.append(f"not carried over (the {suffix} container cannot hold them): {', '.join(skipped)}")
    return "; ".join(parts) or None


class AnonymizeJobs:
    """The anonymize capability's job-facing API for front doors: submit, look up, download results.

    Front doors talk to this (and to `JobsService` for listing / cancelling), never to the job type's
    internals in `job.py` / `uploads.py`.
    """

    def __init__(self, jobs: JobsService, storage: StorageService) -> None:
        self.jobs = jobs
        self.storage = storage

    def start(self, bucket: str, key: str, params: dict[str, Any], api: str = "rest") -> Job:
        return self.jobs.start(AnonymizeJob.name, bucket, key, params=params, api=api)

    def start_upload(
        self, chunks: Iterable[bytes], filename: str | None, params: dict[str, Any], max_bytes: int
    ) -> Job:
        """Store an uploaded file in the internal upload bucket and queue a job on it (result beside it)."""
        return start_upload_job(self.jobs, chunks, filename, params, max_bytes)

    def check_upload_params(self, params: dict[str, Any]) -> None:
        """Fail on a bad option before a byte of a (large) upload is stored."""
        self.jobs.check_params(AnonymizeJob.name, upload_params(params))

    def store_upload(self, chunks: Iterable[bytes], filename: str | None, max_bytes: int) -> str:
        """Stream an upload into the internal bucket as it arrives (refused over `max_bytes`); its key."""
        return store_upload(self.storage, chunks, filename, max_bytes)[1]

    def start_stored_upload(self, key: str, params: dict[str, Any]) -> Job:
        return start_stored_upload_job(self.jobs, key, params)

    def drop_upload(self, key: str) -> None:
        with contextlib.suppress(NotFoundError):
            self.storage.delete_object(UPLOAD_BUCKET, key)

    def get(self, job_id: str) -> Job:
        """The job `job_id`, which must be an anonymization job (NotFoundError otherwise)."""
        job = self.jobs.get(job_id)
        if job.job_type != AnonymizeJob.name:
            raise NotFoundError(f"job {job_id!r} is not an anonymization job")
        return job

    def list(self, next_token: str | None = None, max_results: int = 100) -> tuple[list[Job], str | None]:
        return self.jobs.list(None, AnonymizeJob.name, max_results, next_token)

    def cancel(self, job_id: str) -> Job:
        self.get(job_id)
        return self.jobs.cancel(job_id)

    def open_output(self, job_id: str, which: str = "result") -> tuple[ObjectInfo, Iterator[bytes]]:
        """(object info, bytes) of a finished job's result, or of its boxes JSON (`which="boxes"`)."""
        return open_output(self.storage, self.get(job_id), which)
