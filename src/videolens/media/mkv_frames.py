"""Coded frames of a stored Matroska fragment in decode order, and the timestamps a remuxer must add.

Matroska keeps one timestamp per frame, its presentation time (PTS). MP4 and MPEG-TS also need a decode
timestamp (DTS) that rises strictly in decode order and never passes the PTS. With B-frames the two
differ, and a demuxer that guesses DTS per fragment leaves the first frames of each fragment without
one (FFmpeg's Matroska demuxer does: DTS unknown for the first `has_b_frames` packets).

Guarantees of this module:
- `read_fragment` returns every coded frame of the fragment, in storage (= decode) order, with its PTS
  exactly as stored (TimecodeScale units on the stream's time line), laced blocks split into frames.
- `DecodeClock` gives each video frame a DTS the way encoders do: the sorted PTS delayed by the
  stream's reorder depth (measured on the frames, at most 16), carried across the fragments of one
  output so the DTS line is continuous and strictly rising.
- `entry_frames` is what a decoder that starts at the fragment's key frame can show: frames presented
  before the key frame (open-GOP leading pictures, which reference the previous GOP) are left out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from videolens.media.mkv_elements import laced_frames
from videolens.media.mkv_events import Block, ClusterStart, SegmentInfo, StreamEnd, TrackInfo, Tracks
from videolens.media.mkv_reader import MkvReader

#: H.264 and HEVC allow at most 16 frames of reordering
MAX_REORDER = 16


@dataclass(frozen=True)
class Frame:
    track: int
    pts: int  # TimecodeScale units, on the stream's time line
    keyframe: bool
    data: bytes


@dataclass(frozen=True)
class FragmentFrames:
    timecode_scale: int  # ns per unit
    tracks: tuple[TrackInfo, ...]
    start: int  # the first Cluster's timecode: the fragment's key frame
    frames: tuple[Frame, ...]
    complete: bool  # the document ended at an element boundary

    def track(self, number: int) -> TrackInfo | None:
        return next((t for t in self.tracks if t.number == number), None)

    @property
    def video(self) -> TrackInfo | None:
        return next((t for t in self.tracks if t.is_video), None)

    @property
    def signature(self) -> tuple[tuple[int, int, str, bytes], ...]:
        """What must not change between fragments of one output: tracks, codecs, codec private data."""
        return tuple((t.number, t.type, t.codec_id, t.codec_private) for t in self.tracks)


def read_fragment(blob: bytes) -> FragmentFrames:
    """Parse one fragment document (or several concatenated) into its frames."""
    reader = MkvReader()
    scale = 1_000_000
    tracks: tuple[TrackInfo, ...] = ()
    start: int | None = None
    frames: list[Frame] = []
    complete = False
    for event in reader.feed(blob) + reader.close():
        if isinstance(event, SegmentInfo):
            scale = event.timecode_scale
        elif isinstance(event, Tracks):
            tracks = event.tracks
        elif isinstance(event, ClusterStart) and start is None:
            start = event.timecode
        elif isinstance(event, Block):
            frames.extend(_block_frames(event, tracks, scale))
        elif isinstance(event, StreamEnd):
            complete = event.complete
    return FragmentFrames(scale, tracks, start or 0, tuple(frames), complete)


def _block_frames(block: Block, tracks: tuple[TrackInfo, ...], scale: int) -> list[Frame]:
    parts = laced_frames(block)
    if len(parts) == 1:
        return [Frame(block.track, block.timecode, block.keyframe, parts[0])]
    track = next((t for t in tracks if t.number == block.track), None)
    # laced frames share the block's timestamp; the track's frame duration spaces them out
    step = 0.0
    if track is not None and track.default_duration_ns:
        step = track.default_duration_ns / scale
    elif block.duration:
        step = block.duration / len(parts)
    return [
        Frame(block.track, block.timecode + round(i * step), block.keyframe and i == 0, part)
        for i, part in enumerate(parts)
    ]


def entry_frames(fragment: FragmentFrames, *, drop_audio_before: bool = True) -> list[Frame]:
    """The frames of `fragment` that decode when decoding starts at its key frame.

    Video frames presented before the key frame reference the previous GOP and are left out; so are
    video frames stored before the key frame (a fragment never has them, a damaged one might). With
    drop_audio_before, audio presented before the key frame goes too (it belongs to the time before).
    """
    video = fragment.video
    key: Frame | None = None
    out: list[Frame] = []
    for frame in fragment.frames:
        is_video = video is not None and frame.track == video.number
        if is_video:
            if key is None:
                if not frame.keyframe:
                    continue
                key = frame
            elif frame.pts < key.pts:
                continue
        elif drop_audio_before and frame.pts < fragment.start:
            continue
        out.append(frame)
    return out


class DecodeClock:
    """DTS for one video track, fed fragment by fragment: sorted PTS delayed by the reorder depth."""

    def __init__(self) -> None:
        self._depth = 0
        self._recent: list[int] = []  # the latest PTS in presentation order (MAX_REORDER of them)
        self._last: int | None = None

    @property
    def depth(self) -> int:
        return self._depth

    def stamp(self, pts: list[int]) -> list[tuple[int, int]]:
        """(pts, dts) for the frames of one fragment, given their PTS in decode order."""
        if not pts:
            return []
        order = sorted(range(len(pts)), key=pts.__getitem__)
        # a frame shown r-th but decoded i-th needs the DTS line to lag i - r frames behind the PTS
        lag = max(i - rank for rank, i in enumerate(order))
        self._depth = min(MAX_REORDER, max(self._depth, lag))
        ordered = [pts[i] for i in order]
        line = self._recent + ordered
        step = _frame_step(line)
        out: list[tuple[int, int]] = []
        for i, p in enumerate(pts):
            at = len(self._recent) + i - self._depth
            dts = line[at] if at >= 0 else line[0] + at * step
            if self._last is not None and dts <= self._last:
                # the depth grew mid-output (or two frames share a PTS): keep the line rising
                dts = self._last + 1
            # only a stream whose PTS repeat or run backwards gets here; keep dts <= pts
            p = max(p, dts)
            out.append((p, dts))
            self._last = dts
        self._recent = line[-MAX_REORDER:]
        return out


def _frame_step(ordered: list[int]) -> int:
    """The usual spacing of frames (for DTS before the first frame), at least one unit."""
    gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False) if b > a]
    return max(1, round(statistics.median(gaps))) if gaps else 1
