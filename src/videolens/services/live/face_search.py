"""The FaceSearch processor kind: the live configuration of the one pipeline, records to a data stream.

Each fragment is decoded with the pipeline's frame source (non-reference frames are never decoded);
an EveryN sampler on the frame's slot in time makes the detector look `processor_analysed_fps` times per
second of video, the tracker carries faces in between (and across fragments: one pipeline per session,
times continue from fragment to fragment). On every look, faces inside the RegionsOfInterest are
described; a face track is embedded and searched in the collection when it is new and again every
`processor_search_interval_s` of video (embedding is the costly step; the looks in between reuse the
track's last matches), all the faces due at one look in one batch.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Any

import cv2
import numpy as np

from videolens.media.errors import MediaError
from videolens.media.frame_source import FrameSource, SourceFrame
from videolens.runtime import metrics
from videolens.runtime.settings import Settings
from videolens.services.datastreams.service import DataStreamsService
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.faces.models import FaceDetail, FaceMatch
from videolens.services.faces.service import FacesService
from videolens.services.live.models import ProcessorInfo
from videolens.services.live.records import Regions, face_search_record
from videolens.services.live.registry import Publish
from videolens.services.sightings.models import SightingsSink, TrackAccumulator
from videolens.services.streams.models import FragmentInfo
from videolens.services.video_analysis.pipeline import FaceTrackPipeline, interval_frames
from videolens.vision.detections import Detections
from videolens.vision.models import ModelRegistry
from videolens.vision.sampler import EveryN

#: botocore: "The default is 80 ... values lower than 80 are set to 80"
DEFAULT_THRESHOLD = 80.0
MIN_THRESHOLD = 80.0
MAX_MATCHES = 10
NOMINAL_FPS = 30.0
#: a track's cached search is dropped once the track was not seen for this long (seconds of video)
FORGET_TRACK_S = 5.0


class _Frame:
    """A fragment's frame on the session's clock: `time` continues across fragments, `index` is its slot."""

    __slots__ = ("frame", "time", "index", "key", "offset")

    def __init__(self, frame: SourceFrame, base: float, fps: float) -> None:
        self.frame = frame
        self.offset = frame.time  # inside its fragment
        self.time = base + frame.time
        self.index = round(self.time * fps)
        self.key = frame.key

    def rgb(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        return self.frame.rgb(width, height)

    def bgr(self) -> np.ndarray:
        return self.frame.bgr()

    def luma_thumbnail(self, step: int = 16) -> np.ndarray:
        return self.frame.luma_thumbnail(step)


class FaceSearchKind:
    name = "face-search"
    settings_key = "FaceSearch"

    def __init__(
        self,
        settings: Settings,
        faces: FacesService,
        models: ModelRegistry,
        datastreams: DataStreamsService,
        sightings: SightingsSink | None = None,
    ) -> None:
        #: every face track seen is handed to it (the sightings index), if given
        self.sightings = sightings
        self.settings = settings
        self.faces = faces
        self.models = models
        self.datastreams = datastreams

    def check(self, definition: dict[str, Any]) -> None:
        search = (definition.get("Settings") or {}).get("FaceSearch") or {}
        collection = search.get("CollectionId")
        if not collection:
            raise InvalidParameterError("Settings.FaceSearch.CollectionId is required")
        threshold = search.get("FaceMatchThreshold")
        if threshold is not None and not 0 <= float(threshold) <= 100:
            raise InvalidParameterError("FaceMatchThreshold must be between 0 and 100")
        self.faces.describe_collection(collection)  # ResourceNotFound for a missing collection
        output = definition.get("Output") or {}
        arn = (output.get("KinesisDataStream") or {}).get("Arn")
        if not arn:
            raise InvalidParameterError("a FaceSearch processor writes to Output.KinesisDataStream")
        try:
            self.datastreams.describe_stream_summary(arn=arn)
        except NotFoundError:
            raise
        except Exception as exc:  # a malformed ARN is the caller's mistake, not ours
            raise NotFoundError(f"data stream {arn} not found") from exc

    def open(self, processor: ProcessorInfo, publish: Publish) -> _FaceSearchSession:
        return _FaceSearchSession(self, processor, publish)


class _FaceSearchSession:
    def __init__(self, kind: FaceSearchKind, processor: ProcessorInfo, publish: Publish) -> None:
        search = processor.settings["FaceSearch"]
        self.kind = kind
        self.processor = processor
        self.publish = publish
        self.collection = str(search["CollectionId"])
        self.threshold = max(MIN_THRESHOLD, float(search.get("FaceMatchThreshold", DEFAULT_THRESHOLD)))
        self.regions = Regions(processor.definition.get("RegionsOfInterest"))
        self.detector = kind.models.detector.with_max_input_side(kind.settings.processor_detect_max_side)
        self.embedder = kind.models.embedder
        self.pipeline: FaceTrackPipeline | None = None
        self.base_ts: float | None = None
        self._records: list[bytes] = []
        self._fragment: FragmentInfo | None = None
        self.search_interval = kind.settings.processor_search_interval_s
        #: track id -> (video time of its last search, its matches, video time last seen)
        self._searched: dict[int, tuple[float, list[FaceMatch], float]] = {}
        self._frames = metrics.PROCESSOR_FRAMES_ANALYSED.labels(processor.name)
        self.tracks = (
            TrackAccumulator(kind.sightings, "stream", processor.input_arn, None) if kind.sightings else None
        )

    def process(self, fragment: FragmentInfo, data: bytes) -> int:
        self._fragment, self._records = fragment, []
        if self.base_ts is None:
            self.base_ts = fragment.producer_ts
        base = fragment.producer_ts - self.base_ts
        try:
            with FrameSource(io.BytesIO(data), skip="nonref", name=fragment.fragment_number) as source:
                fps = source.info.frame_rate or NOMINAL_FPS
                size = (source.info.width, source.info.height)
                if self.pipeline is None or self.pipeline.frame_size != size:
                    every = interval_frames(fps, self.kind.settings.processor_analysed_fps)
                    self.pipeline = FaceTrackPipeline(self.detector, EveryN(every), size, hooks=[self._look])
                    self._fps = fps
                for frame in source:
                    self.pipeline.push(_Frame(frame, base, self._fps))
                damaged = source.error is not None
        except MediaError:
            damaged = True  # an undecodable fragment yields the records of the frames before the damage
        if damaged:
            metrics.PROCESSOR_ERRORS.labels(self.processor.name, "undecodable-fragment").inc()
        records = self._records
        self.publish(records)
        self._records = []
        return len(records)

    def _look(self, frame: Any, tracked: Detections) -> None:
        assert self._fragment is not None
        self._frames.inc()
        now = float(frame.time)
        faces: list[tuple[FaceDetail, list[FaceMatch]]] = []
        if len(tracked):
            image = frame.bgr()
            h, w = image.shape[:2]
            listed = tracked.to_list()
            keep = [
                i
                for i, d in enumerate(listed)
                if self.regions.contains((d.x1 + d.x2) / 2 / w, (d.y1 + d.y2) / 2 / h)
            ]
            dets = [listed[i] for i in keep]
            ids = [int(tracked.track_id[i]) for i in keep]
            matches, descriptors = self._search(image, dets, ids, now)
            if self.tracks is not None and dets:
                self._sightings(frame, image, ids, dets, descriptors)
            analysis = self.kind.faces.analysis
            faces = [(analysis.describe(image, d, "DEFAULT"), m) for d, m in zip(dets, matches, strict=True)]
        for track_id in [t for t, (_, _, seen) in self._searched.items() if now - seen > FORGET_TRACK_S]:
            del self._searched[track_id]
        self._records.append(
            face_search_record(self.processor.input_arn, self._fragment, float(frame.offset), faces)
        )

    def _search(
        self, image: np.ndarray, dets: list[Any], ids: list[int], now: float
    ) -> tuple[list[list[FaceMatch]], list[np.ndarray | None]]:
        """Matches per face: tracks new or not searched for `search_interval` are embedded and searched
        (one batch); the others reuse their last matches. Returns the descriptors computed now too."""
        due = [
            j
            for j, track_id in enumerate(ids)
            if track_id < 0
            or track_id not in self._searched
            or now - self._searched[track_id][0] >= self.search_interval - 1e-6
        ]
        descriptors: list[np.ndarray | None] = [None] * len(dets)
        fresh: dict[int, list[FaceMatch]] = {}
        if due:
            embeddings = self.embedder.embed(image, [dets[j] for j in due])
            found = self.kind.faces.search_embeddings(
                self.collection, list(embeddings), MAX_MATCHES, self.threshold
            )
            for j, embedding, match in zip(due, embeddings, found, strict=True):
                descriptors[j] = embedding
                fresh[j] = match
                if ids[j] >= 0:
                    self._searched[ids[j]] = (now, match, now)
        matches = []
        for j, track_id in enumerate(ids):
            if j in fresh:
                matches.append(fresh[j])
                continue
            searched_at, match, _ = self._searched[track_id]
            self._searched[track_id] = (searched_at, match, now)
            matches.append(match)
        return matches, descriptors

    def _sightings(
        self,
        frame: Any,
        image: np.ndarray,
        track_ids: list[int],
        dets: list[Any],
        descriptors: list[np.ndarray | None],
    ) -> None:
        assert self.tracks is not None and self._fragment is not None
        t = self._fragment.producer_ts + float(frame.offset)
        for track_id, det, descriptor in zip(track_ids, dets, descriptors, strict=True):
            self.tracks.look(
                track_id,
                t,
                float(det.score) * 100,
                descriptor,
                self._fragment.fragment_number,
                partial(_jpeg_crop, image, det),
            )
        self.tracks.finish_older(t)

    def close(self) -> None:
        if self.tracks is not None:
            self.tracks.close()
        self.pipeline = None


def _jpeg_crop(image: np.ndarray, det: Any, margin: float = 0.25) -> bytes | None:
    h, w = image.shape[:2]
    mx, my = (det.x2 - det.x1) * margin, (det.y2 - det.y1) * margin
    x1, y1 = max(0, int(det.x1 - mx)), max(0, int(det.y1 - my))
    x2, y2 = min(w, int(det.x2 + mx)), min(h, int(det.y2 + my))
    ok, data = cv2.imencode(".jpg", image[y1:y2, x1:x2])
    return data.tobytes() if ok else None
