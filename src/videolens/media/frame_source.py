"""Frame source for analysis: decodes a file, a readable or stream fragments, only as much as asked.

Guarantees:
- frames come in presentation order with their time in seconds from the stream's first frame, computed
  from each frame's own pts (variable frame rate stays exact; a frame without pts continues the sequence);
- `skip="nonref"` asks the decoder to drop frames no other frame refers to (B-frames of most encoders):
  they are never decoded, so an analysis that samples frames anyway pays nothing for them; `"nonkey"`
  decodes key frames only. Anything that must see every frame (re-encoding) uses `"none"`;
- pixels are converted only when a stage asks (`SourceFrame.rgb(w, h)` at the model's size through one
  cached swscale context, `bgr()` at full size), so frames nobody looks at stay in the decoder's YUV;
- decoding runs in a background thread (PyAV releases the GIL) ahead of the consumer by a bounded number
  of frames, so memory stays bounded and decoding overlaps the models.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Literal

import av
import av.container
import av.error
import numpy as np
from av.video.reformatter import VideoReformatter

from videolens.media.errors import MediaError

Skip = Literal["none", "nonref", "nonkey"]
_SKIP_FLAGS: dict[str, Literal["DEFAULT", "NONREF", "NONKEY"]] = {
    "none": "DEFAULT",
    "nonref": "NONREF",
    "nonkey": "NONKEY",
}
Source = str | Path | IO[bytes] | Iterable[bytes]


class FrameSourceError(MediaError):
    """The input is not a video this source can decode; the message names the input, not a temp path."""


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    codec: str
    format: str
    time_base: Fraction
    frame_rate: float | None
    duration_s: float | None
    frame_count: int | None


class ChunkReader(io.RawIOBase):
    """A readable over an iterable of byte blobs (Matroska fragments in order), consumed lazily."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while not self._buffer:
            try:
                self._buffer = bytes(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


_local = threading.local()


def thread_reformatter() -> VideoReformatter:
    """One swscale context cache per thread (a context is not safe to share between threads)."""
    reformatter: VideoReformatter | None = getattr(_local, "reformatter", None)
    if reformatter is None:
        reformatter = _local.reformatter = VideoReformatter()
    return reformatter


class SourceFrame:
    """One decoded frame; pixels are converted on demand and cached per size."""

    __slots__ = ("index", "pts", "time", "key", "av", "_cache")

    def __init__(self, index: int, pts: int | None, time: float, av_frame: av.VideoFrame) -> None:
        self.index = index
        self.pts = pts
        self.time = time  # seconds from the first frame
        self.key = bool(av_frame.key_frame)
        self.av: av.VideoFrame | None = av_frame
        self._cache: dict[tuple[str, int, int], np.ndarray] = {}

    @property
    def width(self) -> int:
        assert self.av is not None
        return int(self.av.width)

    @property
    def height(self) -> int:
        assert self.av is not None
        return int(self.av.height)

    def _convert(self, fmt: str, width: int, height: int) -> np.ndarray:
        key = (fmt, width, height)
        cached = self._cache.get(key)
        if cached is None:
            assert self.av is not None, "the frame was released"
            out = thread_reformatter().reformat(
                self.av, width=width, height=height, format=fmt, interpolation="BILINEAR"
            )
            cached = out.to_ndarray()
            self._cache[key] = cached
        return cached

    def rgb(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        """RGB uint8 (height, width, 3), scaled by swscale straight from the decoder's YUV."""
        return self._convert("rgb24", width or self.width, height or self.height)

    def bgr(self) -> np.ndarray:
        """Full-size BGR uint8 (what OpenCV, dlib and the attribute models take)."""
        return self._convert("bgr24", self.width, self.height)

    def luma_thumbnail(self, step: int = 16) -> np.ndarray:
        """Every `step`-th luma sample as float32, read straight from the plane (no conversion)."""
        assert self.av is not None
        plane = self.av.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        return rows[: self.height : step, : self.width : step].astype(np.float32)

    def release(self) -> None:
        self.av = None
        self._cache.clear()


def _open(source: Source, name: str) -> av.container.InputContainer:
    try:
        if isinstance(source, str | Path):
            return av.open(str(source), mode="r")
        if hasattr(source, "read"):
            return av.open(source, mode="r")
        return av.open(ChunkReader(source), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise FrameSourceError(f"{name}: not a readable video ({_reason(exc)})") from exc


def _reason(exc: Exception) -> str:
    # FFmpeg errors carry the file path in str(); users know the object by its name, not our temp path
    return str(getattr(exc, "strerror", None) or exc)


class FrameSource:
    """Decoded frames of the first video stream of `source`; use as a context manager or close()."""

    def __init__(
        self,
        source: Source,
        *,
        skip: Skip = "none",
        threads: int = 0,
        prefetch: int = 8,
        name: str | None = None,
    ) -> None:
        self.name = name or (Path(source).name if isinstance(source, str | Path) else "stream")
        self.skip = skip
        self.prefetch = prefetch
        self._container = _open(source, self.name)
        if not self._container.streams.video:
            self._container.close()
            raise FrameSourceError(f"{self.name}: the file holds no video stream")
        self._stream = self._container.streams.video[0]
        # frame + slice threads: decoding never waits for the GIL, so it overlaps inference
        self._stream.thread_type = "AUTO"
        if threads:
            self._stream.codec_context.thread_count = threads
        self._stream.codec_context.skip_frame = _SKIP_FLAGS[skip]
        self.info = self._info()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: set when decoding stopped early on corrupt data (the frames before it were delivered)
        self.error: str | None = None

    def _info(self) -> SourceInfo:
        stream, container = self._stream, self._container
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if stream.duration is not None and stream.time_base is not None:
            duration: float | None = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = None
        frames = stream.frames or (round(duration * float(rate)) if rate and duration else None)
        return SourceInfo(
            width=int(ctx.width),
            height=int(ctx.height),
            codec=str(ctx.name),
            format=str(container.format.long_name or container.format.name),
            time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000),
            frame_rate=float(rate) if rate else None,
            duration_s=duration,
            frame_count=int(frames) if frames else None,
        )

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._container.close()

    def _decode(self) -> Iterator[SourceFrame]:
        """The decoding loop itself (runs in the prefetch thread)."""
        stream = self._stream
        tb = float(stream.time_base) if stream.time_base else 1 / 90000
        step = 1.0 / (self.info.frame_rate or 25.0)
        start: float | None = None
        last = -step
        index = 0
        try:
            for packet in self._container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError as exc:
                    # one corrupt packet (typically a cut-off last one) costs its frame, not the file
                    self.error = f"undecodable video data at pts={packet.pts}: {_reason(exc)}"
                    continue
                for frame in decoded:
                    t = frame.pts * tb if frame.pts is not None else None
                    if start is None:
                        start = t if t is not None else 0.0
                    time = t - start if t is not None else last + step
                    if time <= last:  # no pts / out-of-order stamp: keep times increasing
                        time = last + step / 16
                    last = time
                    yield SourceFrame(index, frame.pts, time, frame)
                    index += 1
        except av.error.FFmpegError as exc:
            self.error = f"demuxing failed: {_reason(exc)}"

    def __iter__(self) -> Iterator[SourceFrame]:
        if self.prefetch <= 0:
            yield from self._decode()
            return
        slots: queue.Queue[SourceFrame | BaseException | None] = queue.Queue(maxsize=self.prefetch)

        def put(item: SourceFrame | BaseException | None) -> bool:
            while not self._stop.is_set():
                try:
                    slots.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def run() -> None:
            try:
                for frame in self._decode():
                    if not put(frame):
                        return
                put(None)
            except BaseException as exc:  # handed to the consumer, raised there
                put(exc)

        self._thread = threading.Thread(target=run, name=f"decode:{self.name}", daemon=True)
        self._thread.start()
        try:
            while True:
                item = slots.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()
