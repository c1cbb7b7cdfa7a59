"""One rendition's encoder: frames in, self-contained MPEG-TS segments (each its own H.264 encoder) out.

The audio, when the input has some, is muxed as it comes (AAC packets already encoded, see audio.py).
"""

from __future__ import annotations

import contextlib
import io
from fractions import Fraction

import av
import av.error

from videolens.services.channels.audio import AudioPacket
from videolens.services.channels.models import Rendition

CLOCK = Fraction(1, 90000)


class SegmentEncoder:
    """Each segment opens a fresh encoder, so it starts on an IDR and decodes alone; all renditions
    are cut on the same frame, so their segments line up (what ABR players switch on)."""

    def __init__(
        self,
        rendition: Rendition,
        size: tuple[int, int],
        fps: float,
        preset: str = "ultrafast",
        audio: av.audio.stream.AudioStream | None = None,
    ) -> None:
        self.rendition = rendition
        self.width, self.height = size
        self.fps = fps
        self.preset = preset
        self._buffer: io.BytesIO | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._audio_template = audio
        self._audio: av.audio.stream.AudioStream | None = None
        self.frames = 0

    def _open(self) -> None:
        self._buffer = io.BytesIO()
        self._container = av.open(self._buffer, "w", format="mpegts")
        stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.bit_rate = self.rendition.bitrate
        stream.codec_context.time_base = CLOCK
        options: dict[str, str] = {"preset": self.preset, "tune": "zerolatency", "bf": "0"}
        if self.rendition.gop_frames:
            options["g"] = str(self.rendition.gop_frames)
        stream.options = dict(options)
        self._stream = stream
        if self._audio_template is not None:
            # the stream parameters (with the AAC config) of the input, or of the one shared encoder
            self._audio = self._container.add_stream_from_template(self._audio_template)
            self._audio.time_base = CLOCK
        self.frames = 0

    def encode(self, frame: av.VideoFrame, t: float) -> None:
        if self._container is None:
            self._open()
        assert self._stream is not None and self._container is not None
        if frame.width != self.width or frame.height != self.height or frame.format.name != "yuv420p":
            frame = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        frame.pts = round(t / CLOCK)
        frame.time_base = CLOCK
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def add_audio(self, packets: list[AudioPacket]) -> None:
        """Audio packets (output time) of the segment in progress; muxed beside the video."""
        if not packets or self._audio_template is None:
            return
        if self._container is None:
            self._open()
        assert self._container is not None and self._audio is not None
        for item in packets:
            if item.t < 0:
                # the AAC encoder's priming frame on the very first connection: a negative stamp would make
                # the muxer shift this segment's clock (and only this one's) later by its length
                continue
            packet = av.Packet(item.data)
            packet.time_base = CLOCK
            packet.pts = packet.dts = round(item.t / CLOCK)
            packet.duration = round(item.duration / CLOCK)
            packet.stream = self._audio
            with contextlib.suppress(av.error.FFmpegError, ValueError):
                self._container.mux(packet)

    def cut(self) -> bytes | None:
        """Close the segment in progress; its bytes (None when it holds no frame)."""
        if self._container is None or self._stream is None or self._buffer is None:
            return None
        with contextlib.suppress(av.error.FFmpegError):
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        self._container.close()
        data = self._buffer.getvalue()
        self._container = self._stream = self._buffer = self._audio = None
        return data if self.frames else None
