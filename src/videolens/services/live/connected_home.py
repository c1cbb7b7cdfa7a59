"""The ConnectedHome processor kind: PERSON label detection on a live stream, images to S3, events to SNS.

Behaviour (AWS's, docs/live.md "ConnectedHome"): one `LABEL_DETECTED` notification per label the first
time it is seen with Confidence >= MinConfidence in a session (the frame and a crop of every instance go
to the S3Destination first, so the message's URIs resolve), then one `STREAM_PROCESSING_COMPLETE` when the
session ends (AWS: "an end-of-session notification with a summary"): at StopSelector.MaxDurationInSeconds,
on StopStreamProcessor, or when it fails (the engine's `end(reason)` hook). PERSON comes from OpenCV's
pedestrian HOG+SVM
(vision/person_detector.py); no PET or PACKAGE model ships, so those labels are refused at Create.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any

import cv2
import numpy as np

from videolens.media.errors import MediaError
from videolens.media.frame_source import FrameSource
from videolens.runtime import metrics
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.events.service import EventsService
from videolens.services.live.models import ProcessorInfo
from videolens.services.live.records import Regions
from videolens.services.live.registry import Publish
from videolens.services.storage.service import StorageService
from videolens.services.streams.models import FragmentInfo
from videolens.vision.detections import Detections
from videolens.vision.person_detector import PersonDetector
from videolens.vision.sampler import EveryInterval

SUPPORTED = ("PERSON",)
#: streamProcessingResults.message per end reason (AWS's example reads "Stream Processing Success.")
COMPLETE_MESSAGES = {
    "MAX_DURATION_REACHED": "Stream Processing Success.",
    "STOPPED_BY_USER": "Stream Processing Success.",
    "FAILED": "Stream Processing Failed.",
}
KNOWN = ("PERSON", "PET", "PACKAGE", "ALL")
#: botocore documents no default; AWS's console uses 50
DEFAULT_MIN_CONFIDENCE = 50.0
#: frames per second of video the person detector looks at (HOG costs ~0.2 s a 640x360 frame here)
LOOKS_PER_SECOND = 2.0
#: label detection keeps no face tracks: the sampler is told "nothing tracked" after each look
NO_PEOPLE_TRACKED = Detections.empty()


def image_keys(prefix: str, processor: str, session: str, label: str, count: int) -> tuple[str, list[str]]:
    """`<KeyPrefix><processor>/<session>/notifications/<LABEL>_frame.jpg` and `<LABEL>_<i>.jpg` crops."""
    base = f"{prefix}{processor}/{session}/notifications/{label}"
    return f"{base}_frame.jpg", [f"{base}_{i}.jpg" for i in range(count)]


class ConnectedHomeKind:
    name = "connected-home"
    settings_key = "ConnectedHome"

    def __init__(self, storage: StorageService, events: EventsService) -> None:
        self.storage = storage
        self.events = events
        self.detector = PersonDetector(min_score=0.0)

    def check(self, definition: dict[str, Any]) -> None:
        home = (definition.get("Settings") or {}).get("ConnectedHome") or {}
        labels = home.get("Labels") or []
        if not labels:
            raise InvalidParameterError("Settings.ConnectedHome.Labels needs at least one label")
        unknown = [label for label in labels if label not in KNOWN]
        if unknown:
            raise InvalidParameterError(f"unknown ConnectedHome labels {unknown}: valid are {list(KNOWN)}")
        unsupported = [label for label in labels if label not in SUPPORTED]
        if unsupported:
            raise InvalidParameterError(
                f"ConnectedHome labels {unsupported} are not supported by this server: it detects only "
                f"{', '.join(SUPPORTED)} (no PET or PACKAGE model is installed)"
            )
        confidence = home.get("MinConfidence")
        if confidence is not None and not 0 <= float(confidence) <= 100:
            raise InvalidParameterError("ConnectedHome.MinConfidence must be between 0 and 100")
        s3 = (definition.get("Output") or {}).get("S3Destination") or {}
        if not s3.get("Bucket"):
            raise InvalidParameterError("a ConnectedHome processor writes to Output.S3Destination.Bucket")
        self.storage.head_bucket(s3["Bucket"])  # NoSuchBucket → ResourceNotFound at the door
        topic = (definition.get("NotificationChannel") or {}).get("SNSTopicArn")
        if not topic:
            raise InvalidParameterError("a ConnectedHome processor needs NotificationChannel.SNSTopicArn")
        if not self.events.topic_exists(topic):
            raise NotFoundError(f"SNS topic {topic} not found")

    def open(self, processor: ProcessorInfo, publish: Publish) -> ConnectedHomeSession:
        return ConnectedHomeSession(self, processor)


class ConnectedHomeSession:
    def __init__(self, kind: ConnectedHomeKind, processor: ProcessorInfo) -> None:
        home = processor.settings["ConnectedHome"]
        self.kind = kind
        self.processor = processor
        self.session = processor.session_id or ""
        labels = set(home["Labels"])
        self.pending = set(SUPPORTED) if "ALL" in labels else labels & set(SUPPORTED)
        self.min_confidence = float(home.get("MinConfidence", DEFAULT_MIN_CONFIDENCE))
        self.regions = Regions(processor.definition.get("RegionsOfInterest"))
        s3 = processor.definition["Output"]["S3Destination"]
        self.bucket = str(s3["Bucket"])
        prefix = str(s3.get("KeyPrefix") or "")
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.topic = str(processor.definition["NotificationChannel"]["SNSTopicArn"])
        self.last: FragmentInfo | None = None
        self.completed = False
        self.detected: list[str] = []
        self._frames = metrics.PROCESSOR_FRAMES_ANALYSED.labels(processor.name)

    def process(self, fragment: FragmentInfo, data: bytes) -> int:
        self.last = fragment
        if self.pending and not self.completed:
            return self._analyse(fragment, data)
        return 0

    def end(self, reason: str) -> None:
        """The engine ends the session for good (MAX_DURATION_REACHED, STOPPED_BY_USER, FAILED)."""
        if not self.completed:
            self._complete(self.last, reason)

    def _analyse(self, fragment: FragmentInfo, data: bytes) -> int:
        sampler = EveryInterval(1.0 / LOOKS_PER_SECOND)  # the pipeline's sampler, per fragment
        try:
            with FrameSource(io.BytesIO(data), skip="nonref", name=fragment.fragment_number) as source:
                for frame in source:
                    if not sampler.wants(frame, key=frame.key):
                        continue
                    sampler.observed(frame, NO_PEOPLE_TRACKED, {})
                    self._frames.inc()
                    rgb = frame.rgb()
                    people = self._people(rgb)
                    if people and "PERSON" in self.pending:
                        self._detected(fragment, float(frame.time), rgb, people)
                        return 1
        except MediaError:  # a damaged fragment: what decoded before the damage was analysed
            metrics.PROCESSOR_ERRORS.labels(self.processor.name, "undecodable-fragment").inc()
        return 0

    def _people(self, rgb: np.ndarray) -> list[tuple[float, tuple[float, float, float, float]]]:
        h, w = rgb.shape[:2]
        boxes = self.kind.detector.detect(rgb)
        out = []
        for score, (x1, y1, x2, y2) in zip(boxes.scores, boxes.xyxy, strict=True):
            confidence = float(score) * 100
            box = (x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h)
            if confidence >= self.min_confidence and self.regions.contains(
                box[0] + box[2] / 2, box[1] + box[3] / 2
            ):
                out.append((confidence, box))
        return out

    def _put_jpeg(self, key: str, rgb: np.ndarray) -> str:
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        self.kind.storage.put_object_bytes(self.bucket, key, jpeg.tobytes(), "image/jpeg")
        return f"s3://{self.bucket}/{key}"

    def _detected(
        self,
        fragment: FragmentInfo,
        offset: float,
        rgb: np.ndarray,
        people: list[tuple[float, tuple[float, float, float, float]]],
    ) -> None:
        h, w = rgb.shape[:2]
        frame_key, crop_keys = image_keys(
            self.prefix, self.processor.name, self.session, "PERSON", len(people)
        )
        frame_uri = self._put_jpeg(frame_key, rgb)
        mapping = self._mapping(fragment, offset)
        labels = []
        for (confidence, (left, top, width, height)), key in zip(people, crop_keys, strict=True):
            x1, y1 = max(0, int(left * w)), max(0, int(top * h))
            x2, y2 = min(w, int((left + width) * w) + 1), min(h, int((top + height) * h) + 1)
            labels.append(
                {
                    "id": str(uuid.uuid4()),
                    "name": "PERSON",
                    "confidence": round(confidence, 3),
                    "frameImageUri": frame_uri,
                    "croppedImageUri": self._put_jpeg(key, rgb[y1:y2, x1:x2]),
                    "videoMapping": {"kinesisVideoMapping": mapping},
                    "boundingBox": {"left": left, "top": top, "width": width, "height": height},
                }
            )
        self.pending.discard("PERSON")
        self.detected.append("PERSON")
        self._notify("LABEL_DETECTED", fragment, offset, labels=labels)

    def _mapping(self, fragment: FragmentInfo, offset: float) -> dict[str, Any]:
        return {
            "fragmentNumber": fragment.fragment_number,
            "serverTimestamp": round(fragment.server_ts * 1000),
            "producerTimestamp": round(fragment.producer_ts * 1000),
            "frameOffsetMillis": round(offset * 1000),
        }

    def _complete(self, fragment: FragmentInfo | None, reason: str) -> None:
        self.completed = True
        results: dict[str, Any] = {
            "message": COMPLETE_MESSAGES.get(reason, "Stream Processing Success."),
            "reason": reason,
            "labelsDetected": self.detected,
        }
        offset = fragment.duration_ms / 1000.0 if fragment is not None else 0.0
        self._notify("STREAM_PROCESSING_COMPLETE", fragment, offset, streamProcessingResults=results)

    def _notify(self, event: str, fragment: FragmentInfo | None, offset: float, **body: Any) -> None:
        video: dict[str, Any] = {"streamArn": self.processor.input_arn}
        if fragment is not None:  # a session stopped before its first fragment has no position
            m = self._mapping(fragment, offset)
            video.update(
                fragmentNumber=m["fragmentNumber"],
                fragmentProducerTimestamp=m["producerTimestamp"],
                fragmentServerTimestamp=m["serverTimestamp"],
                frameOffsetMillis=m["frameOffsetMillis"],
            )
        doc: dict[str, Any] = {
            "inputInformation": {"kinesisVideo": video},
            "eventNamespace": {"type": event},
            **body,
            "eventId": str(uuid.uuid4()),
            "tags": dict(self.processor.tags),
            "sessionId": self.session,
            "startStreamProcessorSessionId": self.session,
            "timestamp": round(time.time() * 1000),
        }
        self.kind.events.publish(self.topic, json.dumps(doc))

    def close(self) -> None:
        pass
