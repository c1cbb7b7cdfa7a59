"""A running channel: input connections in, decode once, anonymize, encode the ladder, HLS out, recorded.

One thread per channel. Push inputs listen with ffmpeg's RTMP or RTSP server on a loopback port (the
public ports are `rtmp_gate.RtmpGate` and `rtsp_gate.RtspGate`, which check security groups and stream
keys); pull inputs open their URL.
Each connection is decoded once: the packets are also remuxed to Matroska into an ingest session of
the channel's recording stream, the frames go through the anonymizer (when on), every rendition encodes
them, and segments are cut on the same frame for all renditions every `SegmentLength` seconds. The
input's audio goes into the same segments on the same time line (audio.py). When a pusher goes away the
decoder and the anonymizer's look-ahead are flushed and the segment in progress is closed; the next
connection's first segment carries a discontinuity, and output time keeps running on from where it stopped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import av
import av.error

from videolens.media.video_types import Frame, FrameProcessor
from videolens.services.channels.audio import ConnectionAudio
from videolens.services.channels.hls_output import HlsOutput
from videolens.services.channels.models import OutputPlan, RunnerStats
from videolens.services.channels.rtsp_timestamps import with_timestamps
from videolens.services.channels.segment_encoder import SegmentEncoder

log = logging.getLogger(__name__)

#: bounds the listen + handshake + probing of one connection (and how long stop() may wait for it)
OPEN_TIMEOUT_S = 4.0
READ_TIMEOUT_S = 5.0

MakeProcessor = Callable[[float, tuple[int, int]], FrameProcessor | None]


class _Passthrough:
    def push(self, frame: Frame) -> list[Frame]:
        return [frame]

    def flush(self) -> list[Frame]:
        return []


class _SessionSink:
    def __init__(self, session: Any) -> None:
        self.session = session

    def write(self, data: bytes) -> int:
        self.session.feed(bytes(data))
        return len(data)


class ChannelRunner:
    def __init__(
        self,
        channel_id: str,
        url: str,
        *,
        listen: bool,
        plan: OutputPlan,
        make_output: Callable[[list[tuple[int, int]]], HlsOutput],
        make_processor: MakeProcessor,
        record: Callable[[], AbstractContextManager[Any]] | None,
        preset: str = "ultrafast",
        latency_budget_s: float = 4.0,
    ) -> None:
        self.channel_id = channel_id
        self.url = url
        self.listen = listen
        self.plan = plan
        self.make_output = make_output
        self.make_processor = make_processor
        self.record = record
        self.preset = preset
        self.latency_budget_s = latency_budget_s
        self.stats = RunnerStats()
        self.output: HlsOutput | None = None
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"channel-{channel_id}", daemon=True)
        self.backend_port: int | None = None
        self._clock = 0.0  # output time where the next connection starts
        self._encoders: list[SegmentEncoder] = []
        self._audio: ConnectionAudio | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self.output is not None:
            self.output.finish()

    # -- connections --------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._connection()
            except (av.error.ExitError, TimeoutError):
                continue  # nobody published within the open timeout: listen again
            except Exception as exc:  # noqa: BLE001 - a bad connection must not end the channel
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.info("channel %s: input connection ended: %s", self.channel_id, self.stats.last_error)
                self._stop.wait(0.5)

    def _open(self) -> av.container.InputContainer:
        rtsp = self.url.startswith("rtsp")
        options = {"listen": "1"} if self.listen and not rtsp else {}
        open_timeout = OPEN_TIMEOUT_S
        if self.listen and rtsp:
            # RTSP_PUSH (its door is rtsp_gate): ffmpeg's RTSP server waits listen_timeout seconds (the
            # default, -1, turns into an out-of-range TCP timeout: ERANGE at open); one more bounds the
            # ANNOUNCE / SETUP / RECORD exchange and the probe of a pusher that came at the last moment
            options.update({"rtsp_flags": "listen", "listen_timeout": str(int(OPEN_TIMEOUT_S))})
            open_timeout = 2 * OPEN_TIMEOUT_S
        # probe briefly: a live pusher sends in real time, and the output waits on the probe
        options.update({"analyzeduration": "1000000", "probesize": "1000000"})
        if rtsp:
            options["rtsp_transport"] = "tcp"
        self.listening.set()
        return av.open(self.url, "r", options=options, timeout=(open_timeout, READ_TIMEOUT_S))

    def _connection(self) -> None:
        source = self._open()
        with source, self.record() if self.record is not None else contextlib.nullcontext() as session:
            if not source.streams.video:
                raise ValueError("the input has no video")
            video = source.streams.video[0]
            video.thread_type = "AUTO"
            self.stats.connections += 1
            fps = float(video.average_rate or video.guessed_rate or 30)
            size = (video.codec_context.width, video.codec_context.height)
            self._audio = self._open_audio(source)
            self._prepare(size, fps)
            processor = self.make_processor(fps, size) or _Passthrough()
            recorder, mapping = self._recorder(session, source)
            discontinuity = self.stats.connections > 1
            origin: dict[int, int] = {}
            state = {"segment_start": self._clock, "last": self._clock, "disc": discontinuity, "wall": 0.0}
            counter = {"index": 0, "first": -1.0}

            def take(av_frame: Any) -> None:
                if not isinstance(av_frame, av.VideoFrame) or av_frame.time is None:
                    return
                if counter["first"] < 0:
                    counter["first"] = float(av_frame.time)
                    state["wall"] = time.time()
                    if self._audio is not None:
                        self._audio.start(counter["first"], self._clock)
                media_t = float(av_frame.time) - counter["first"]
                self.stats.frames_in += 1
                # behind by more than the budget (the pipeline cannot keep up): halve the frame rate
                # until it catches up; every frame that goes out is still anonymized
                # measured from the connection's smallest lag: the first frames come out of the probe's
                # buffer ahead of real time, what matters is the delay growing beyond that
                raw = time.time() - (state["wall"] + media_t)
                counter["base"] = min(counter.get("base", raw), raw)
                lag = raw - counter["base"]
                self.stats.lag_s = lag
                if lag > self.latency_budget_s and self.stats.frames_in % 2:
                    self.stats.frames_dropped += 1
                    return
                frame = Frame(int(counter["index"]), av_frame)
                frame.time = self._clock + media_t
                counter["index"] += 1
                for out in processor.push(frame):
                    self._emit(out, state, fps)

            ended: list[Exception] = []
            packets = self._packets(source, [video, *source.streams.audio[:1]], ended)
            if self.listen and self.url.startswith("rtsp"):
                packets = with_timestamps(packets)  # RTP leaves the first picture untimed, dts unset
            try:
                for packet in packets:
                    if self._stop.is_set():
                        break
                    if packet.dts is None or packet.size == 0:
                        continue
                    frames = packet.decode() if packet.stream is video else []
                    if self._audio is not None and packet.stream is self._audio.source:
                        self._audio.push(packet)  # before the recorder's remux changes its stamps
                    if recorder is not None and packet.stream.index in mapping:
                        first = origin.setdefault(packet.stream.index, packet.dts)
                        packet.dts -= first
                        if packet.pts is not None:
                            packet.pts -= first
                        packet.stream = mapping[packet.stream.index]
                        with contextlib.suppress(av.error.FFmpegError, ValueError):
                            recorder.mux(packet)
                    for av_frame in frames:
                        take(av_frame)
                # the pusher is gone: the frames the decoder still holds (frame threads) come out now;
                # the codec context's own decode leaves their time base unset (their time NaN)
                with contextlib.suppress(av.error.FFmpegError):
                    for av_frame in video.codec_context.decode(None):
                        av_frame.time_base = video.time_base
                        take(av_frame)
                if ended:
                    raise ended[0]  # logged and counted as before, once the frames are out
            finally:
                if self._audio is not None:
                    self._audio.finish()
                for out in processor.flush():
                    self._emit(out, state, fps)
                self._close_segment(state, state["last"] + 1.0 / fps)
                self._clock = state["last"] + 1.0 / fps
                if self._audio is not None:
                    self._audio.close()
                    self._audio = None
                if recorder is not None:
                    with contextlib.suppress(av.error.FFmpegError):
                        recorder.close()
                if session is not None:
                    session.finish()

    @staticmethod
    def _packets(source: av.container.InputContainer, streams: list[Any], ended: list[Exception]) -> Any:
        """The input's packets until it ends. A pusher's RTMP session ends with an I/O error: it ends the
        packets like EOF (into `ended`), so the frames the decoder still holds are flushed, not lost."""
        try:
            yield from source.demux(*streams)
        except av.error.FFmpegError as exc:
            ended.append(exc)

    def _open_audio(self, source: av.container.InputContainer) -> ConnectionAudio | None:
        specs = [rendition.audio for rendition in self.plan.renditions]
        if not source.streams.audio or all(spec is None for spec in specs):
            return None
        try:
            return ConnectionAudio(source.streams.audio[0], specs)
        except (av.error.FFmpegError, ValueError) as exc:  # an audio track we cannot carry: video alone
            log.warning("channel %s: the input's audio is left out: %s", self.channel_id, exc)
            return None

    def _recorder(self, session: Any, source: av.container.InputContainer) -> tuple[Any, dict[int, Any]]:
        if session is None:
            return None, {}
        target = av.open(_SessionSink(session), "w", format="matroska")
        mapping = {}
        for stream in [source.streams.video[0], *source.streams.audio[:1]]:
            mapping[stream.index] = target.add_stream_from_template(stream)
        return target, mapping

    def _prepare(self, size: tuple[int, int], fps: float) -> None:
        """Encoders for this connection's size (a pusher may come back at another size)."""
        sizes = []
        for rendition in self.plan.renditions:
            width = rendition.width or size[0]
            height = rendition.height or (size[1] * width // size[0] // 2 * 2 if rendition.width else size[1])
            sizes.append((width, height))
        if self.output is None:
            self.output = self.make_output(sizes)
        self.output.set_audio_codecs(self._audio.codecs() if self._audio else [None] * len(sizes))
        audio = self._audio.templates() if self._audio else [None] * len(sizes)
        self._encoders = [
            SegmentEncoder(r, s, fps, self.preset, a)
            for r, s, a in zip(self.plan.renditions, sizes, audio, strict=True)
        ]

    def _emit(self, frame: Frame, state: dict[str, Any], fps: float) -> None:
        t = float(frame.time or 0.0)
        if t - state["segment_start"] >= self.plan.segment_seconds - 0.5 / fps:
            self._close_segment(state, t)
            state["segment_start"] = t
        picture = frame.to_av()
        self._feed_audio(t)
        for encoder in self._encoders:
            encoder.encode(picture, t)
        state["last"] = t
        frame.release()

    def _close_segment(self, state: dict[str, Any], end: float) -> None:
        assert self.output is not None
        duration = max(end - state["segment_start"], 0.001)
        self._feed_audio(end)
        wrote = False
        for i, encoder in enumerate(self._encoders):
            data = encoder.cut()
            if data is not None:
                self.output.add_segment(i, data, duration, bool(state["disc"]))
                wrote = True
        if wrote:
            if state["disc"]:
                self.stats.discontinuities += 1
            state["disc"] = False
            self.stats.segments += 1
            # (wall time written, media end on this connection's time line, wall time of its first frame)
            self.stats.segment_times.append((time.time(), end - self._clock, float(state["wall"])))

    def _feed_audio(self, until: float) -> None:
        """The audio before output time `until` goes to every rendition (video has come that far)."""
        if self._audio is not None:
            for encoder, packets in zip(self._encoders, self._audio.until(until), strict=True):
                encoder.add_audio(packets)
