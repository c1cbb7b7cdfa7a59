"""A channel's audio: the input's audio as AAC packets on the output time line, held until the video is there.

AAC is copied packet for packet when the rendition's audio description asks for nothing else; any other
codec (MP3, Opus, PCM, ...) or an explicit bitrate / sample rate is decoded and encoded once to AAC. Each
packet is stamped with the output time of the same input instant as the video (the connection's first
video frame is output time `clock`), then queued: video comes out of the anonymizer late by its
look-ahead, and a segment takes the audio up to its own end when it is cut, so both stay in step.
"""

from __future__ import annotations

import contextlib
import io
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error

from videolens.services.channels.models import AudioSpec

#: the sample rates AAC (and ffmpeg's encoder) takes
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
DEFAULT_AAC_BITRATE = 128_000
#: a jump in the input's audio time larger than this restarts the sample count there (gap, clock reset)
RESYNC_S = 0.2
#: RFC 6381 object types of the AAC profiles ffmpeg names
_PROFILES = {"HE-AAC": "mp4a.40.5", "HE-AACv2": "mp4a.40.29"}


@dataclass(frozen=True)
class AudioPacket:
    data: bytes
    t: float  # output time, seconds
    duration: float


class AudioTrack:
    """One output audio stream (shared by the renditions with the same AudioSpec)."""

    def __init__(self, source: av.audio.stream.AudioStream, spec: AudioSpec) -> None:
        ctx = source.codec_context
        self.copy = (
            ctx.name == "aac"
            and spec.bitrate is None
            and spec.sample_rate in (None, ctx.sample_rate)
            and spec.channels in (None, ctx.channels)
        )
        self.queue: deque[AudioPacket] = deque()
        self._box: av.container.OutputContainer | None = None
        if self.copy:
            self.template: av.audio.stream.AudioStream = source
            profile = ctx.profile or ""
            self.codecs = _PROFILES.get(profile, "mp4a.40.2")
            return
        # the encoder lives in a container of its own, so its stream (with the encoder's extradata)
        # is the template every segment's audio stream is made from
        rate = spec.sample_rate or (ctx.sample_rate if ctx.sample_rate in AAC_RATES else 48000)
        self._box = av.open(io.BytesIO(), "w", format="mpegts")
        stream = self._box.add_stream("aac", rate=rate)
        channels = spec.channels or min(ctx.channels, 2)
        stream.codec_context.layout = "mono" if channels == 1 else "stereo"
        stream.bit_rate = spec.bitrate or DEFAULT_AAC_BITRATE
        self._box.start_encoding()
        self.template = stream
        self.codecs = "mp4a.40.2"
        self._in_rate = 0
        self._next = 0  # input samples counted from `_anchor`
        self._anchor = 0.0

    def add_packet(self, data: bytes, t: float, duration: float) -> None:
        """One input AAC packet at output time t (copy)."""
        self.queue.append(AudioPacket(data, t, duration))

    def add_frames(self, frames: list[av.AudioFrame], t: float | None) -> None:
        """Decoded input frames, the first at output time t (None: right after the previous ones)."""
        for frame in frames:
            expected = self._anchor + self._next / self._in_rate if self._in_rate else None
            if t is None:
                t = expected if expected is not None else 0.0
            if expected is None or abs(expected - t) > RESYNC_S:
                self._in_rate, self._anchor, self._next = frame.sample_rate, t, 0
            # counted samples, not the input's millisecond stamps: the encoder wants an even clock
            frame.pts = round(self._anchor * self._in_rate) + self._next
            frame.time_base = Fraction(1, self._in_rate)
            self._next += frame.samples
            t += frame.samples / frame.sample_rate
            self._encode(frame)

    def finish(self, frames: list[av.AudioFrame]) -> None:
        """The decoder's last frames, then what the encoder still holds."""
        if not self.copy:
            self.add_frames(frames, None)
            self._encode(None)

    def _encode(self, frame: av.AudioFrame | None) -> None:
        stream = self.template
        with contextlib.suppress(av.error.FFmpegError, ValueError):
            for out in stream.encode(frame):
                if out.pts is None or out.time_base is None:
                    continue
                duration = float(out.duration * out.time_base) if out.duration else 0.0
                self.queue.append(AudioPacket(bytes(out), float(out.pts * out.time_base), duration))

    def until(self, end: float) -> list[AudioPacket]:
        """The queued packets that start before `end` (and leave the rest for the next segment)."""
        ready = []
        while self.queue and self.queue[0].t < end:
            ready.append(self.queue.popleft())
        return ready

    def close(self) -> None:
        if self._box is not None:
            with contextlib.suppress(av.error.FFmpegError):
                self._box.close()
            self._box = None


class ConnectionAudio:
    """The audio of one input connection: its tracks, and the packets seen before the first video frame."""

    def __init__(self, source: av.audio.stream.AudioStream, specs: list[AudioSpec | None]) -> None:
        self.source = source
        self.tracks: list[AudioTrack] = []
        #: per rendition: index into tracks, or None (that rendition has no audio)
        self.track_of: list[int | None] = []
        keys: dict[AudioSpec, int] = {}
        for spec in specs:
            if spec is None:
                self.track_of.append(None)
                continue
            if spec not in keys:
                keys[spec] = len(self.tracks)
                self.tracks.append(AudioTrack(source, spec))
            self.track_of.append(keys[spec])
        self._decode = any(not track.copy for track in self.tracks)
        self._early: list[tuple[bytes, float, float, list[av.AudioFrame]]] = []
        self._origin: float | None = None  # input time of the first video frame
        self._clock = 0.0

    def templates(self) -> list[av.audio.stream.AudioStream | None]:
        return [None if i is None else self.tracks[i].template for i in self.track_of]

    def codecs(self) -> list[str | None]:
        return [None if i is None else self.tracks[i].codecs for i in self.track_of]

    def start(self, origin: float, clock: float) -> None:
        """The first video frame is at input time `origin`, output time `clock`: earlier audio is left out."""
        self._origin, self._clock = origin, clock
        early, self._early = self._early, []
        for item in early:
            self._add(item)

    def push(self, packet: av.Packet) -> None:
        """An input audio packet (read before the recorder remuxes it: that changes its stamps)."""
        if not self.tracks or packet.pts is None or packet.time_base is None:
            return
        t_in = float(packet.pts * packet.time_base)
        duration = float(packet.duration * packet.time_base) if packet.duration else 0.0
        frames: list[av.AudioFrame] = []
        if self._decode:
            with contextlib.suppress(av.error.FFmpegError, ValueError):
                frames = self.source.codec_context.decode(packet)
        item = (bytes(packet), t_in, duration, frames)
        if self._origin is None:
            self._early.append(item)  # the video decoder has not given its first frame yet
        else:
            self._add(item)

    def _add(self, item: tuple[bytes, float, float, list[av.AudioFrame]]) -> None:
        assert self._origin is not None
        data, t_in, duration, frames = item
        media_t = t_in - self._origin
        if media_t < 0:
            return
        for track in self.tracks:
            if track.copy:
                track.add_packet(data, self._clock + media_t, duration)
            else:
                track.add_frames(frames, self._clock + media_t)

    def until(self, end: float) -> list[list[AudioPacket]]:
        """Per rendition, the audio packets of the segment that ends at output time `end`."""
        ready = [track.until(end) for track in self.tracks]
        return [[] if i is None else ready[i] for i in self.track_of]

    def finish(self) -> None:
        """The input ended: what the decoder and encoders still hold comes out (for the last segment)."""
        frames: list[av.AudioFrame] = []
        if self._decode:
            with contextlib.suppress(av.error.FFmpegError, ValueError):
                frames = self.source.codec_context.decode(None)
        for track in self.tracks:
            track.finish(frames)

    def close(self) -> None:
        for track in self.tracks:
            track.close()
