"""Video re-encoding with PyAV: decode → frame processor → encode, other streams remuxed untouched.

Kept from the input: the frame count and every frame's pts (so frame rate, time base, variable frame
rate and duration survive), the rotation (display matrix), container and stream metadata (creation
time, language), and the audio / subtitle packets, copied bit for bit without re-encoding. A truncated
input is processed up to where it stops and the result says where that was.
"""

from __future__ import annotations

import heapq
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.error
import av.stream
import av.video.stream

from videolens.media.errors import MediaError
from videolens.media.ordered_writer import OrderedWriter
from videolens.media.prefetch import Prefetch
from videolens.media.video_types import EncodeOptions, Frame, FrameProcessor, TranscodeResult, VideoInfo

log = logging.getLogger(__name__)


ProgressCallback = Callable[[int, int | None], None]

_CODEC_BY_SUFFIX = {".webm": "libvpx-vp9"}
_DEFAULT_CODEC = "libx264"
_REORDER_DEPTH = 4
#: decoded frames (and copied packets) the decode thread may run ahead of the processor
_DECODE_AHEAD = 16


def _open_input(path: Path) -> av.container.InputContainer:
    try:
        container = av.open(str(path), mode="r")
    except FileNotFoundError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(f"{path.name}: not a readable media file ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise MediaError(f"{path.name}: the file holds no video stream")
    return container


def _video_info(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    tb = stream.time_base
    start = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
    duration: float | None = None
    end: float | None = None
    if stream.duration is not None and tb is not None:
        duration = float(stream.duration * tb)
        end = start + duration
    elif container.duration is not None:
        # Matroska & co. only know the whole file's span (audio included), measured from its start
        container_start = (container.start_time or 0) / av.time_base
        end = container_start + container.duration / av.time_base
        duration = end - start
    frames = stream.frames or None
    if frames is None and duration is not None and rate:
        frames = round(duration * float(rate))
    return VideoInfo(
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        codec=stream.codec_context.name,
        time_base=Fraction(tb) if tb else Fraction(1, 90000),
        frame_rate=Fraction(rate) if rate else None,
        duration_s=duration,
        frame_count=frames,
        rotation=0,
        start_s=start,
        end_s=end,
    )


def probe_video(path: str | Path) -> VideoInfo:
    """Header facts of a video file, plus its rotation read from the first decoded frame."""
    path = Path(path)
    with _open_input(path) as container:
        stream = container.streams.video[0]
        info = _video_info(container, stream)
        rotation = 0
        try:
            for frame in container.decode(stream):
                rotation = int(frame.rotation)
                break
        except av.error.FFmpegError:
            pass
    return VideoInfo(**{**info.__dict__, "rotation": rotation})


def _codec_for(output: Path, options: EncodeOptions) -> str:
    return options.codec or _CODEC_BY_SUFFIX.get(output.suffix.lower(), _DEFAULT_CODEC)


def _add_video_stream(
    out: av.container.OutputContainer,
    src: av.video.stream.VideoStream,
    info: VideoInfo,
    output: Path,
    options: EncodeOptions,
) -> av.video.stream.VideoStream:
    codec = _codec_for(output, options)
    stream_options: dict[str, str] = {}
    if options.crf is not None and codec in ("libx264", "libx265", "libvpx-vp9", "libsvtav1", "libaom-av1"):
        stream_options["crf"] = str(options.crf)
        if codec == "libvpx-vp9":
            stream_options["b"] = "0"
    if options.preset and codec in ("libx264", "libx265"):
        stream_options["preset"] = options.preset
    if codec == "libvpx-vp9":
        stream_options.setdefault("deadline", "realtime")
        stream_options.setdefault("cpu-used", "8")
    if output.suffix.lower() == ".avi":
        # AVI has no composition times: B-frames would be muxed out of order
        stream_options["bf"] = "0"
    rate = info.frame_rate or Fraction(30)
    try:
        stream = out.add_stream(codec, rate=rate, options=stream_options)
    except (av.error.FFmpegError, ValueError) as exc:
        raise MediaError(f"unknown or unusable video codec {codec!r}: {exc}") from exc
    assert isinstance(stream, av.video.stream.VideoStream)
    stream.width = info.width
    stream.height = info.height
    stream.pix_fmt = options.pix_fmt
    # Carry the input's time base so every pts is copied unchanged (variable frame rate included).
    stream.time_base = info.time_base
    stream.codec_context.time_base = info.time_base
    if src.sample_aspect_ratio:
        stream.codec_context.sample_aspect_ratio = src.sample_aspect_ratio
    src_cc, dst_cc = src.codec_context, stream.codec_context
    for attr in ("color_range", "colorspace", "color_primaries", "color_trc"):
        # tags only: the BGR round trip uses the same matrix both ways, so the pixels match the tags
        value = getattr(src_cc, attr, None)
        if value:
            setattr(dst_cc, attr, value)
    if options.threads:
        stream.codec_context.thread_count = options.threads
    for key in ("language", "handler_name", "creation_time"):
        if key in src.metadata:
            stream.metadata[key] = src.metadata[key]
    return stream


def _copy_streams(
    inp: av.container.InputContainer,
    out: av.container.OutputContainer,
    video_index: int,
    result: TranscodeResult,
) -> dict[int, av.stream.Stream]:
    """Output streams for every audio / subtitle stream the output container can hold, without re-encoding."""
    mapping: dict[int, av.stream.Stream] = {}
    supported = out.supported_codecs
    for s in inp.streams:
        if s.index == video_index or s.type not in ("audio", "subtitle"):
            continue
        label = f"#{s.index} {s.type} {s.codec_context.name if s.codec_context else '?'}"
        name = s.codec_context.name if s.codec_context else None
        if name is None or name not in supported:
            result.skipped_streams.append(label)
            log.warning("stream %s cannot be carried by %s; skipped", label, out.format.name)
            continue
        try:
            mapping[s.index] = out.add_stream_from_template(s)
        except (av.error.FFmpegError, ValueError) as exc:
            result.skipped_streams.append(label)
            log.warning("stream %s cannot be copied: %s", label, exc)
            continue
        for key, value in s.metadata.items():
            mapping[s.index].metadata[key] = value
        result.copied_streams.append(label)
    return mapping


def transcode_video(
    input_path: str | Path,
    output_path: str | Path,
    processor: FrameProcessor,
    options: EncodeOptions | None = None,
    progress: ProgressCallback | None = None,
) -> TranscodeResult:
    """Decode every frame, pass it through `processor`, encode the result; copy the other streams."""
    options = options or EncodeOptions()
    input_path, output_path = Path(input_path), Path(output_path)
    inp = _open_input(input_path)
    try:
        src = inp.streams.video[0]
        src.thread_type = "AUTO"
        info = _video_info(inp, src)
        result = TranscodeResult(frames=0, info=info)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            out = av.open(str(output_path), mode="w")
        except (av.error.FFmpegError, ValueError) as exc:
            raise MediaError(f"{output_path.name}: cannot write this container ({exc})") from exc
        try:
            _run(inp, out, src, info, output_path, options, processor, result, progress)
        finally:
            out.close()
    finally:
        inp.close()
    return result


def _run(
    inp: av.container.InputContainer,
    out: av.container.OutputContainer,
    src: av.video.stream.VideoStream,
    info: VideoInfo,
    output_path: Path,
    options: EncodeOptions,
    processor: FrameProcessor,
    result: TranscodeResult,
    progress: ProgressCallback | None,
) -> None:
    out.metadata.update({k: v for k, v in inp.metadata.items() if k not in ("encoder", "major_brand")})
    dst = _add_video_stream(out, src, info, output_path, options)
    copies = _copy_streams(inp, out, src.index, result)
    header = {"rotation_set": False}
    pending: list[av.Packet] = []  # copied packets that arrive before the first video frame is encoded

    def encode_now(frames: Iterable[tuple[Frame, av.VideoFrame]]) -> None:
        for f, vf in frames:
            if not header["rotation_set"]:
                rotation = int(getattr(f._av, "rotation", 0) or 0) if f._av is not None else 0
                if rotation:
                    dst.set_display_rotation(rotation)
                header["rotation_set"] = True
                out.start_encoding()
                for p in pending:
                    out.mux(p)
                pending.clear()
            vf.pts = f.pts
            vf.time_base = info.time_base
            # the encoder reformats to its own pixel format; drop the decoder's frame type hint
            vf.pict_type = av.video.frame.PictureType.NONE
            out.mux(dst.encode(vf))
            f.release()
            result.frames += 1
            if progress is not None:
                progress(result.frames, info.frame_count)

    def handle(item: tuple[str, object]) -> None:
        kind, value = item
        if kind == "frames":
            encode_now(value)  # type: ignore[arg-type]
        elif kind == "packet":
            if header["rotation_set"]:
                out.mux(value)  # type: ignore[arg-type]
            else:
                pending.append(value)  # type: ignore[arg-type]
        elif header["rotation_set"]:  # the end: drain the encoder (nothing to drain without a frame)
            out.mux(dst.encode(None))

    # Encoding and muxing run in their own thread, in queue order: x264 and the muxer overlap decoding
    # and the models (PyAV releases the GIL) instead of waiting for them.
    # The frames waiting for the encoder are bounded (memory: up to ~48 MB of decoded pictures, 4..32
    # frames); packets of copied streams do not count, so the pipeline never waits on the encoder
    # because audio happened to be demuxed in between (measured: 0.7 s of 2.5 s lost that way).
    frame_bytes = max(1, info.width * info.height * 3 // 2)
    depth = max(4, min(32, 48_000_000 // frame_bytes))
    writer = OrderedWriter(handle, depth=depth)

    # A processor's deferred drawing (the anonymizer's redaction) and the frame's conversion for the
    # encoder run in a thread of their own, before the encode thread: in one thread with x264's
    # submission they made it the pipeline's bottleneck (measured: the encode thread busy all along,
    # 45 % of it drawing, while the detector waited on its queue). Everything goes through it, in order.
    def draw(item: tuple[str, object]) -> None:
        kind, value = item
        if kind == "frame":
            frame: Frame = value  # type: ignore[assignment]
            writer.put(("frames", [(frame, frame.to_av())]))
        else:
            writer.put(item, weight=0)

    stage = OrderedWriter(draw, depth=depth, name="draw")

    def encode(frames: Iterable[Frame]) -> None:
        for f in frames:
            stage.put(("frame", f))

    # Frames leave the decoder in display order, but some files (AVI with packed B-frames) stamp them
    # with their packets' out-of-order pts. Handing each frame the smallest pts among the next few
    # restores increasing timestamps and is the identity for well-formed input.
    reorder: deque[av.VideoFrame] = deque()
    pts_pool: list[int] = []
    last_pts = -1

    def feed(av_frame: av.VideoFrame, index: int) -> tuple[int, float | None]:
        pts = heapq.heappop(pts_pool)
        frame = Frame(index, av_frame)
        frame.pts = pts
        frame.time = float(pts * info.time_base)
        encode(processor.push(frame))
        return index + 1, frame.time

    streams = [src, *(inp.streams[i] for i in copies)]
    decoded_items = Prefetch(_demux_decode(inp, streams, src.index), depth=_DECODE_AHEAD, name="decode")
    try:
        index = 0
        last_time: float | None = None
        error: str | None = None
        for kind, value in decoded_items:
            if kind == "error":
                error = value  # type: ignore[assignment]
                continue
            if kind == "packet":
                packet: av.Packet = value  # type: ignore[assignment]
                packet.stream = copies[packet.stream.index]
                stage.put(("packet", packet), weight=0)
                continue
            av_frame: av.VideoFrame = value  # type: ignore[assignment]
            if av_frame.pts is None:
                # no timestamp: continue the sequence (the encoder needs increasing pts)
                av_frame.pts = (max(pts_pool) if pts_pool else last_pts) + 1
            last_pts = max(last_pts, av_frame.pts)
            heapq.heappush(pts_pool, av_frame.pts)
            reorder.append(av_frame)
            if len(reorder) > _REORDER_DEPTH:
                index, last_time = feed(reorder.popleft(), index)
        while reorder:
            index, last_time = feed(reorder.popleft(), index)
        encode(processor.flush())
        stage.put(("end", None), weight=0)
    except BaseException:
        decoded_items.close()
        stage.shutdown()
        writer.shutdown()
        raise
    decoded_items.close()
    try:
        stage.close()
    except BaseException:
        writer.shutdown()
        raise
    writer.close()
    if not header["rotation_set"]:
        raise MediaError(f"no decodable video frame in the input ({error or 'empty video stream'})")
    _check_truncation(info, index, last_time, error, result)


def _demux_decode(
    inp: av.container.InputContainer, streams: list[av.stream.Stream], video_index: int
) -> Iterator[tuple[str, object]]:
    """("frame", decoded video frame), ("packet", packet of a copied stream) or ("error", why), in
    demux order; runs in the decode thread, so decoding overlaps the processor and the encoder."""
    demuxer = inp.demux(streams)
    while True:
        try:
            packet = next(demuxer)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            yield "error", f"demuxing failed: {exc}"
            return
        if packet.stream.index != video_index:
            if packet.size and packet.dts is not None:
                yield "packet", packet
            continue
        try:
            decoded = packet.decode()
        except av.error.FFmpegError as exc:
            # one corrupt packet (typically the cut-off last one) costs its frame, not the whole file
            yield "error", f"undecodable video data at packet pts={packet.pts}: {exc}"
            continue
        for av_frame in decoded:
            if isinstance(av_frame, av.VideoFrame):
                yield "frame", av_frame


def _check_truncation(
    info: VideoInfo, frames: int, last_time: float | None, error: str | None, result: TranscodeResult
) -> None:
    frame_s = 1 / float(info.frame_rate) if info.frame_rate else 0.04
    expected = info.duration_s
    if info.end_s is not None and last_time is not None:
        short = last_time + frame_s * 4 < info.end_s
    else:
        short = info.frame_count is not None and frames + 2 < info.frame_count
    if not short and error is None:
        return
    stop = (last_time if last_time is not None else info.start_s) - info.start_s + frame_s
    result.truncated_at_s = stop
    total = f" of {expected:.2f} s" if expected else ""
    cause = f" ({error})" if error else ""
    result.warning = (
        f"input ended early: processed the decodable part, {frames} frames up to {stop:.2f} s{total}{cause}"
    )
    log.warning(result.warning)
