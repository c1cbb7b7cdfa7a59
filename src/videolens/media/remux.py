"""Write the frames of Matroska fragments into another container (MP4 clips, MPEG-TS segments) with PyAV.

The frames come from our own parser (`mkv_frames`), not from a demuxer per fragment, so every frame
keeps its key-frame flag and exact PTS, and gets a DTS from one `DecodeClock` per output: what a
decoder reads is the fragments' frames in decode order on one continuous time line, shifted so that
`origin` (a key frame's PTS) is time zero. FFmpeg's muxers do the rest (MP4 edit list for the B-frame
decode delay, Annex B and parameter sets in MPEG-TS).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from fractions import Fraction

import av
import av.container
import av.error
import av.stream

from videolens.media import avc
from videolens.media.errors import MediaError
from videolens.media.mkv_frames import DecodeClock, FragmentFrames, Frame


class _AnyCodec(frozenset[str]):
    """A codec set that holds every codec (outputs that carry whatever FFmpeg can mux)."""

    def __contains__(self, item: object) -> bool:
        return True


ANY_CODEC: frozenset[str] = _AnyCodec()


class RemuxError(MediaError):
    """The fragments cannot go into the output (reason in .kind)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        # "invalid-media" | "unsupported-codec" | "missing-codec-private" | "tracks-changed"
        self.kind = kind


@dataclass
class TrackCount:
    frames: int = 0
    first_pts: int | None = None
    end: int = 0  # last PTS + frame duration seen, in units after origin


@dataclass
class Remuxer:
    """Feeds fragments' frames to one PyAV output; `mapping` maps track numbers to output streams."""

    output: av.container.OutputContainer
    mapping: dict[int, av.stream.Stream]
    video_track: int | None
    time_base: Fraction  # of the fragments' timestamps
    origin: int  # fragment units that become time zero
    #: the video track's avcC, when key frames must carry SPS/PPS in-band (MPEG-TS)
    inband_avcc: bytes | None = None
    clock: DecodeClock = field(default_factory=DecodeClock)
    counts: dict[int, TrackCount] = field(default_factory=dict)
    _last_audio: dict[int, int] = field(default_factory=dict)

    def add(self, frames: list[Frame]) -> None:
        """One fragment's frames, in decode order."""
        video = [f for f in frames if f.track == self.video_track]
        stamps = iter(self.clock.stamp([f.pts for f in video]))
        for frame in frames:
            stream = self.mapping.get(frame.track)
            if stream is None or not frame.data:
                continue
            if frame.track == self.video_track:
                pts, dts = next(stamps)
            else:
                last = self._last_audio.get(frame.track)
                if last is not None and frame.pts <= last:
                    continue  # a repeated audio frame would break the track's rising time line
                pts = dts = frame.pts
                self._last_audio[frame.track] = pts
            data = frame.data
            if frame.keyframe and self.inband_avcc and frame.track == self.video_track:
                data = avc.with_parameter_sets(data, self.inband_avcc)
            packet = av.Packet(data)
            packet.stream = stream
            packet.time_base = self.time_base
            packet.pts = pts - self.origin
            packet.dts = dts - self.origin
            packet.is_keyframe = frame.keyframe
            count = self.counts.setdefault(frame.track, TrackCount())
            count.frames += 1
            if count.first_pts is None or packet.pts < count.first_pts:
                count.first_pts = packet.pts
            count.end = max(count.end, packet.pts)
            try:
                self.output.mux(packet)
            except av.error.FFmpegError as exc:
                raise RemuxError("invalid-media", f"frame at {frame.pts} cannot be written: {exc}") from exc


def open_streams(
    output: av.container.OutputContainer,
    blob: bytes,
    fragment: FragmentFrames,
    *,
    keep: dict[str, frozenset[str]],
    require_video: bool = True,
) -> tuple[dict[int, av.stream.Stream], int | None]:
    """Output streams for the tracks whose codec is in keep[type]; the video track's number.

    PyAV's demuxer supplies the codec parameters. FFmpeg creates its streams in TrackEntry order,
    skipping tracks it cannot read, so tracks are matched to streams in order within each type.
    """
    try:
        source = av.open(io.BytesIO(blob), "r", format="matroska")
    except av.error.FFmpegError as exc:
        raise RemuxError("invalid-media", f"fragment is not readable Matroska: {exc}") from exc
    mapping: dict[int, av.stream.Stream] = {}
    video_track: int | None = None
    with source:
        by_type = {kind: [s for s in source.streams if s.type == kind] for kind in ("video", "audio")}
        for track in fragment.tracks:
            kind = {1: "video", 2: "audio"}.get(track.type)
            if kind is None or not by_type[kind] or kind not in keep:
                continue
            template = by_type[kind].pop(0)
            name = template.codec_context.name if template.codec_context else ""
            if name not in keep[kind]:
                if kind == "video":
                    raise RemuxError("unsupported-codec", f"video codec {name!r} cannot go into this output")
                continue  # other audio is left out, as GetClip does
            if kind == "video":
                if video_track is not None:
                    continue  # one video track per output
                if not template.codec_context.extradata:
                    raise RemuxError("missing-codec-private", "the video track has no codec private data")
                video_track = track.number
            mapping[track.number] = output.add_stream_from_template(template)
    if video_track is None and require_video:
        raise RemuxError("unsupported-codec", "the fragments have no video track")
    return mapping, video_track
