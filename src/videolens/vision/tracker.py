"""Multi-face tracker: IoU + constant-velocity association on detected frames, smooth boxes in between.

Detections arrive only on some frames ("keyframes"). Each track keeps its keyframe boxes; the box on
any other frame is interpolated linearly between the two keyframes around it, extrapolated backwards
(with the track's velocity) for a few frames before its first detection — a face is often detected a
few frames after it appears — and held, moving on with its velocity, for a short time after its last
detection, so one missed detection never uncovers a face.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from videolens.vision.types import Detection

Box = tuple[float, float, float, float]

#: width / height of a CenterFace box around a frontal face
FACE_ASPECT = 0.75


@dataclass(frozen=True)
class TrackedBox:
    """A face box on one frame: detected there, or interpolated / extrapolated from its track."""

    track_id: int
    box: Box
    score: float
    detected: bool
    #: the keyframes this box was derived from (one or two frame indices), for per-keyframe decisions
    sources: tuple[int, ...]


@dataclass
class Track:
    track_id: int
    frames: list[int] = field(default_factory=list)  # keyframe indices, ascending
    boxes: list[Box] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # per frame, x1 y1 x2 y2
    alive: bool = True

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    def predict(self, frame_index: int) -> Box:
        """Constant-velocity prediction from the last keyframe."""
        dt = frame_index - self.last
        b = np.asarray(self.boxes[-1]) + self.velocity * dt
        return _as_box(b)


def _as_box(values: np.ndarray) -> Box:
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _center_distance_ratio(a: Box, b: Box) -> float:
    """Distance between centres divided by the larger box side (for fast motion, where IoU is 0)."""
    dx = (a[0] + a[2]) / 2 - (b[0] + b[2]) / 2
    dy = (a[1] + a[3]) / 2 - (b[1] + b[3]) / 2
    side = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1], 1.0)
    return float(np.hypot(dx, dy) / side)


class FaceTracker:
    """Associates detections on keyframes with tracks and answers the face boxes of any frame.

    `update` must be called with increasing frame indices; `boxes_at(i)` is final once `update` has
    been called for a frame at or after `i + backfill_frames` (the pipeline's look-ahead).
    """

    def __init__(
        self,
        *,
        iou_threshold: float = 0.15,
        max_center_distance: float = 1.0,
        hold_frames: int = 10,
        backfill_frames: int = 6,
        velocity_smoothing: float = 0.6,
        frame_size: tuple[int, int] | None = None,
    ) -> None:
        self.frame_size = frame_size
        self.iou_threshold = iou_threshold
        self.max_center_distance = max_center_distance
        self.hold_frames = hold_frames
        self.backfill_frames = backfill_frames
        self.velocity_smoothing = velocity_smoothing
        self.tracks: dict[int, Track] = {}
        self._next_id = 1
        self._last_update = -1

    def update(self, frame_index: int, detections: list[Detection]) -> list[tuple[int, Detection]]:
        """Match the detections of a keyframe to tracks (new tracks for the rest); returns (track id, det)."""
        if frame_index <= self._last_update:
            raise ValueError(f"frame {frame_index} is not after the last update {self._last_update}")
        self._last_update = frame_index
        live = [t for t in self.tracks.values() if t.alive]
        for t in live:
            if frame_index - t.last > self.hold_frames:
                t.alive = False
        live = [t for t in live if t.alive]
        boxes = [self._unclip((d.x1, d.y1, d.x2, d.y2)) for d in detections]
        # Greedy matching on the predicted boxes, best pairs first: with a handful of faces per frame
        # this equals the optimal assignment in practice and needs no solver.
        candidates: list[tuple[float, int, int]] = []
        for ti, t in enumerate(live):
            predicted = t.predict(frame_index)
            for di, box in enumerate(boxes):
                overlap = iou(predicted, box)
                if overlap >= self.iou_threshold:
                    candidates.append((1.0 + overlap, ti, di))
                else:
                    dist = _center_distance_ratio(predicted, box)
                    if dist <= self.max_center_distance:
                        candidates.append((1.0 - dist, ti, di))
        candidates.sort(reverse=True)
        used_tracks: set[int] = set()
        used_dets: set[int] = set()
        result: list[tuple[int, Detection]] = []
        for _, ti, di in candidates:
            if ti in used_tracks or di in used_dets:
                continue
            used_tracks.add(ti)
            used_dets.add(di)
            self._extend(live[ti], frame_index, boxes[di], detections[di].score)
            result.append((live[ti].track_id, detections[di]))
        for di, det in enumerate(detections):
            if di in used_dets:
                continue
            track = Track(track_id=self._next_id)
            self._next_id += 1
            track.frames.append(frame_index)
            track.boxes.append(boxes[di])
            track.scores.append(det.score)
            self.tracks[track.track_id] = track
            result.append((track.track_id, det))
        return result

    def end_tracks(self) -> None:
        """A new shot begins: no live track continues (a face at the same place is a new face)."""
        for t in self.tracks.values():
            t.alive = False

    def _unclip(self, box: Box) -> Box:
        """Complete a box cut by the picture border from its visible side and a face's aspect ratio.

        A face sliding into the picture is detected with a box clipped at the border; keeping the
        full-size box makes the velocity (and the back-fill before the first detection) follow the
        face's centre instead of shrinking the box towards the border.
        """
        if self.frame_size is None:
            return box
        width, height = self.frame_size
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        full_w, full_h = max(w, h * FACE_ASPECT), max(h, w / FACE_ASPECT)
        if x1 <= 1 and x2 < width - 1:
            x1 = x2 - full_w
        elif x2 >= width - 1 and x1 > 1:
            x2 = x1 + full_w
        if y1 <= 1 and y2 < height - 1:
            y1 = y2 - full_h
        elif y2 >= height - 1 and y1 > 1:
            y2 = y1 + full_h
        return (x1, y1, x2, y2)

    def _extend(self, track: Track, frame_index: int, box: Box, score: float) -> None:
        dt = frame_index - track.last
        measured = (np.asarray(box) - np.asarray(track.boxes[-1])) / max(dt, 1)
        if len(track.frames) == 1:
            track.velocity = measured
        else:
            a = self.velocity_smoothing
            track.velocity = a * measured + (1 - a) * track.velocity
        track.frames.append(frame_index)
        track.boxes.append(box)
        track.scores.append(score)

    def boxes_at(self, frame_index: int) -> list[TrackedBox]:
        """Every track's box on this frame (detected, interpolated, back-filled or held)."""
        out: list[TrackedBox] = []
        for t in self.tracks.values():
            box = self._box_of(t, frame_index)
            if box is not None:
                out.append(box)
        return out

    def _box_of(self, t: Track, i: int) -> TrackedBox | None:
        if i < t.first:
            if t.first - i > self.backfill_frames:
                return None
            # before the first detection: walk back along the track's velocity (known once the
            # second keyframe arrived; a face entering the frame keeps being covered as it slides in)
            b = np.asarray(t.boxes[0]) - self.velocity_at_start(t) * (t.first - i)
            return TrackedBox(t.track_id, _as_box(b), t.scores[0], False, (t.first,))
        if i > t.last:
            if i - t.last > self.hold_frames:
                return None
            return TrackedBox(t.track_id, t.predict(i), t.scores[-1], False, (t.last,))
        k = bisect.bisect_left(t.frames, i)
        if t.frames[k] == i:
            return TrackedBox(t.track_id, t.boxes[k], t.scores[k], True, (i,))
        fa, fb = t.frames[k - 1], t.frames[k]
        w = (i - fa) / (fb - fa)
        b = (1 - w) * np.asarray(t.boxes[k - 1]) + w * np.asarray(t.boxes[k])
        return TrackedBox(t.track_id, _as_box(b), min(t.scores[k - 1], t.scores[k]), False, (fa, fb))

    @staticmethod
    def velocity_at_start(t: Track) -> np.ndarray:
        if len(t.frames) < 2:
            return np.zeros(4)
        return (np.asarray(t.boxes[1]) - np.asarray(t.boxes[0])) / (t.frames[1] - t.frames[0])

    def forget_before(self, frame_index: int) -> None:
        """Drop tracks that can no longer produce a box at or after `frame_index` (bounded memory)."""
        for tid in [
            tid for tid, t in self.tracks.items() if not t.alive and t.last + self.hold_frames < frame_index
        ]:
            del self.tracks[tid]
        for t in self.tracks.values():
            # keep one keyframe before the cut so interpolation towards later frames still works
            k = bisect.bisect_left(t.frames, frame_index) - 1
            if k > 1:
                # the first two keyframes define the backward velocity, which frames before are past
                del t.frames[: k - 1], t.boxes[: k - 1], t.scores[: k - 1]
