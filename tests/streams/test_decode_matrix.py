"""Decode matrix: ffmpeg producers (B-frames, open GOP, VFR, odd size, AAC) send PutMedia; every read
path's output decodes in FFmpeg, OpenCV and Chromium with exactly the frames and times it covers.

Expected frames come from the producer's own file (ffprobe, decode order), not from videolens: the
stream is cut into GOPs at its key frames; a reader that starts at a GOP shows the GOP's frames that
present at or after its key frame (open-GOP leading pictures need the GOP before), then every frame
of the GOPs that follow it.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.aws.conftest import ShapeChecker
from tests.conftest import RunningServer, free_port, make_settings
from tests.streams.conftest import Kvs
from tests.streams.decoders import BrowserDecoder, ffmpeg_frames, opencv_frames
from tests.streams.test_read_media import split_documents, tags_of
from videolens.container import Container
from videolens.media import video_reader
from videolens.media.frame_source import FrameSource
from videolens.vision.models import ModelRegistry

SECONDS = 4  # four GOPs of 1 s: fragments 1 and 2 are mid-stream


@dataclass(frozen=True)
class Variant:
    size: tuple[int, int]
    rate: int
    video: tuple[str, ...]  # encoder options after -c:v libx264
    audio: bool = False
    vf: str | None = None
    #: what FFmpeg's decoder says when decoding starts at an open-GOP I picture instead of an IDR: the
    #: first slices release references (and leading pictures name pictures) of the GOP before
    entry_notes: tuple[str, ...] = ()


VARIANTS = {
    "no_bframes": Variant((640, 360), 30, ("-preset", "ultrafast", "-g", "30")),
    # libx264's defaults: 3 B-frames, B-pyramid, closed GOP (only the GOP length is set)
    "bframes_aac": Variant((640, 360), 30, ("-g", "30", "-keyint_min", "30"), audio=True),
    "open_gop": Variant(
        (640, 360),
        30,
        ("-g", "30", "-keyint_min", "30", "-x264-params", "open_gop=1"),
        entry_notes=("mmco: unref short failure", "Missing reference picture", "Last message repeated"),
    ),
    # frames dropped irregularly and kept at their times: 33, 67 and 100 ms between frames
    "vfr": Variant(
        (640, 360),
        30,
        ("-fps_mode", "vfr", "-force_key_frames", "expr:gte(t,n_forced)"),
        vf="select='not(eq(mod(n\\,5)\\,2))*not(eq(mod(n\\,7)\\,3))'",
    ),
    "odd_size_aac": Variant((638, 358), 25, ("-g", "25", "-keyint_min", "25"), audio=True),
}


@dataclass(frozen=True)
class Gop:
    key: float  # presentation time of its key frame (source seconds)
    pts: tuple[float, ...]  # every video frame stored in it, decode order

    @property
    def from_key(self) -> list[float]:
        return sorted(p for p in self.pts if p >= self.key - 1e-6)


@dataclass
class Stream:
    name: str
    variant: Variant
    gops: list[Gop]
    fragments: list[dict[str, Any]]

    def frames_from(self, first: int, last: int | None = None) -> list[float]:
        """Frames shown by a decoder starting at GOP `first` and reading through GOP `last`, from 0."""
        last = len(self.gops) - 1 if last is None else last
        shown = self.gops[first].from_key + [p for g in self.gops[first + 1 : last + 1] for p in g.pts]
        return [round(p - self.gops[first].key, 6) for p in sorted(shown)]

    def producer_time(self, index: int) -> float:
        return float(self.fragments[index]["ProducerTimestamp"].timestamp())


def encode(variant: Variant, path: Path) -> subprocess.Popen[bytes]:
    w, h = variant.size
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={variant.rate}"]
    if variant.audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:a", "aac", "-b:a", "64k"]
    if variant.vf:
        cmd += ["-vf", variant.vf]
    cmd += ["-t", str(SECONDS), "-c:v", "libx264", "-pix_fmt", "yuv420p", *variant.video]
    return subprocess.Popen([*cmd, "-f", "matroska", str(path)])


def produce(kvs: Kvs, name: str, path: Path, start: float) -> subprocess.Popen[bytes]:
    """A real ffmpeg producer POSTing the file to PutMedia as fast as it can (no re-encode)."""
    endpoint = kvs.video.get_data_endpoint(StreamName=name, APIName="PUT_MEDIA")["DataEndpoint"]
    headers = (
        f"x-amzn-stream-name: {name}\r\nx-amzn-fragment-timecode-type: RELATIVE\r\n"
        f"x-amzn-producer-start-timestamp: {start:.3f}\r\n"
    )
    cmd = ["ffmpeg", "-v", "error", "-i", str(path), "-c", "copy", "-f", "matroska", "-live", "1"]
    cmd += ["-method", "POST", "-chunked_post", "1", "-headers", headers, endpoint + "/putMedia"]
    return subprocess.Popen(cmd)


def source_gops(path: Path) -> list[Gop]:
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags"]
    lines = subprocess.run([*cmd, "-of", "csv=p=0", str(path)], check=True, capture_output=True, text=True)
    gops: list[tuple[float, list[float]]] = []
    for line in lines.stdout.split():
        pts, flags = line.split(",")[:2]
        if "K" in flags:
            gops.append((float(pts), []))
        gops[-1][1].append(float(pts))
    return [Gop(key, tuple(pts)) for key, pts in gops]


@pytest.fixture(scope="module")
def kvs(tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry) -> Iterator[Kvs]:
    settings = make_settings(tmp_path_factory.mktemp("matrix") / "data", port=free_port())
    container = Container(settings, models=models)
    server = RunningServer(container).start()
    container.streams.live_idle_s = 0.3
    checker = ShapeChecker()
    yield Kvs(server.url, container, checker)
    server.stop()
    container.close()
    assert not checker.failures, checker.failures


@pytest.fixture(scope="module")
def streams(kvs: Kvs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stream]:
    """Every variant encoded, then sent by ffmpeg over PutMedia, once for the whole module."""
    work = tmp_path_factory.mktemp("sources")
    files = {name: work / f"{name}.mkv" for name in VARIANTS}
    for encoder in [encode(VARIANTS[name], path) for name, path in files.items()]:
        assert encoder.wait(120) == 0
    start = time.time() - 600
    for name in VARIANTS:
        kvs.create(name)
    for producer in [produce(kvs, name, path, start) for name, path in files.items()]:
        assert producer.wait(60) == 0
    out: dict[str, Stream] = {}
    for name, path in files.items():
        gops = source_gops(path)
        assert len(gops) == SECONDS, (name, [g.key for g in gops])
        deadline = time.monotonic() + 20
        while len(fragments := kvs.fragments(name)) < len(gops):
            assert time.monotonic() < deadline, f"{name}: {len(fragments)} fragments"
            time.sleep(0.1)
        for fragment, gop in zip(fragments, gops, strict=True):
            assert fragment["ProducerTimestamp"].timestamp() == pytest.approx(start + gop.key, abs=0.0015)
        out[name] = Stream(name, VARIANTS[name], gops, fragments)
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserDecoder]:
    decoder = BrowserDecoder(tmp_path_factory.mktemp("chromium") / "profile")
    yield decoder
    decoder.close()


def check_decoders(
    stream: Stream,
    path: Path,
    expected: list[float],
    browser: BrowserDecoder,
    *,
    origin: float = 0.0,
    declares_count: bool = False,
    mid_stream: bool = True,
) -> None:
    """FFmpeg, OpenCV and Chromium each decode exactly `expected` (times from `origin` on) from `path`."""
    times = ffmpeg_frames(str(path), stream.variant.entry_notes if mid_stream else ())
    assert [round(t - origin, 3) for t in times] == pytest.approx(expected, abs=0.0015)
    read = opencv_frames(str(path))
    assert len(read.times) == len(expected)
    assert read.size == stream.variant.size
    if declares_count:
        assert read.declared == len(expected)
    if stream.variant.entry_notes and mid_stream:
        chromium_refuses_open_gop_entry(lambda: browser_check(stream, path, expected, browser, origin))
    else:
        browser_check(stream, path, expected, browser, origin)


def browser_check(
    stream: Stream, path: Path, expected: list[float], browser: BrowserDecoder, origin: float
) -> None:
    if path.suffix == ".mkv":
        decoded = browser.decode_matroska(path)
        assert [round(t - origin, 3) for t, _ in decoded] == pytest.approx(expected, abs=0.0015)
        assert {size for _, size in decoded} == {stream.variant.size}
        return
    shown = browser.read_file(path)
    if shown.frames != len(expected):
        # totalVideoFrames of a <video> played at 16x once counted 73 of a 60-frame clip under CI load
        # (the same file gave 60 on every other play): a second play tells a flaky counter from a wrong
        # file, which gives the same wrong count every time
        shown = browser.read_file(path)
    assert (shown.frames, shown.size) == (len(expected), stream.variant.size)
    assert shown.first_time is not None and shown.first_time >= origin + expected[0] - 0.0015


def chromium_refuses_open_gop_entry(check: Callable[[], object]) -> None:
    """Known limit (docs/streams.md): Chromium's H.264 decoder may fail when decoding starts at an
    open-GOP I picture (frames of the GOP before are missing; whether it fails depends on what the
    slices reference), where FFmpeg and OpenCV conceal that. Either it decodes exactly the expected
    frames, or it stops with its decode error, nothing else."""
    try:
        check()
    except AssertionError as failure:
        assert re.search("PIPELINE_ERROR_DECODE|Decoding error", str(failure)), failure


def archived(kvs: Kvs, stream: Stream, api: str) -> Any:
    return kvs.data_client("kinesis-video-archived-media", stream.name, api)


@pytest.mark.parametrize("variant", VARIANTS)
def test_get_clip_from_mid_gop(
    variant: str, streams: dict[str, Stream], kvs: Kvs, browser: BrowserDecoder, tmp_path: Path
) -> None:
    stream = streams[variant]
    # a window that opens inside GOP 1 and closes inside GOP 2 covers those two fragments
    start = stream.producer_time(1) + 0.4
    response = archived(kvs, stream, "GET_CLIP").get_clip(
        StreamName=stream.name,
        ClipFragmentSelector={
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": start, "EndTimestamp": start + 1.0},
        },
    )
    path = tmp_path / "clip.mp4"
    path.write_bytes(response["Payload"].read())
    check_decoders(stream, path, stream.frames_from(1, 2), browser, declares_count=True)

    # the stored-video jobs read clips with the same reader they use for uploads
    metadata = video_reader.probe(path)
    assert metadata.frame_count == len(stream.frames_from(1, 2))
    assert (metadata.frame_width, metadata.frame_height) == stream.variant.size
    with FrameSource(path, skip="none") as frames:  # the one pipeline's frame source, every frame
        job_times = [round(f.time, 3) for f in frames]
    assert job_times == pytest.approx(stream.frames_from(1, 2), abs=0.0015)


def test_consumer_reads_every_frame_of_a_b_frame_clip(
    streams: dict[str, Stream], kvs: Kvs, tmp_path: Path
) -> None:
    """The issue's consumer: boto3 GetClip → cv2.VideoCapture → CAP_PROP_FRAME_COUNT frames."""
    stream = streams["bframes_aac"]
    client = archived(kvs, stream, "GET_CLIP")
    body = client.get_clip(
        StreamName=stream.name,
        ClipFragmentSelector={
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {
                "StartTimestamp": stream.producer_time(1) + 0.5,
                "EndTimestamp": stream.producer_time(3) - 0.2,
            },
        },
    )["Payload"].read()
    path = tmp_path / "consumer.mp4"
    path.write_bytes(body)
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = [capture.read()[1] for _ in range(count)]
    assert capture.read()[0] is False  # nothing past the declared count
    assert count == 2 * 30 and all(f is not None and f.shape == (360, 640, 3) for f in frames)


@pytest.mark.parametrize("variant", VARIANTS)
def test_get_media_for_fragment_list(
    variant: str, streams: dict[str, Stream], kvs: Kvs, browser: BrowserDecoder, tmp_path: Path
) -> None:
    stream = streams[variant]
    numbers = [f["FragmentNumber"] for f in stream.fragments[1:3]]
    payload = (
        archived(kvs, stream, "GET_MEDIA_FOR_FRAGMENT_LIST")
        .get_media_for_fragment_list(StreamName=stream.name, Fragments=numbers)["Payload"]
        .read()
    )
    path = tmp_path / "list.mkv"
    path.write_bytes(payload)
    # Matroska keeps producer time: frames sit at the fragments' producer timestamps
    check_decoders(stream, path, stream.frames_from(1, 2), browser, origin=stream.producer_time(1))


@pytest.mark.parametrize("variant", VARIANTS)
def test_get_media_selectors(
    variant: str, streams: dict[str, Stream], kvs: Kvs, browser: BrowserDecoder, tmp_path: Path
) -> None:
    stream = streams[variant]
    media = kvs.data_client("kinesis-video-media", stream.name, "GET_MEDIA")
    numbers = [f["FragmentNumber"] for f in stream.fragments]
    server = [f["ServerTimestamp"].timestamp() for f in stream.fragments]
    assert server[2] < server[3]
    arrived = (server[2] + server[3]) / 2
    selectors = {
        "EARLIEST": ({"StartSelectorType": "EARLIEST"}, 0),
        "FRAGMENT_NUMBER": ({"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": numbers[2]}, 2),
        # inside GOP 1: reading starts at the fragment that holds that time
        "PRODUCER_TIMESTAMP": (
            {"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": stream.producer_time(1) + 0.6},
            1,
        ),
        "CONTINUATION_TOKEN": (
            {"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": numbers[0]},
            1,
        ),
        # between two fragments' arrival times: the first one stored after it
        "SERVER_TIMESTAMP": ({"StartSelectorType": "SERVER_TIMESTAMP", "StartTimestamp": arrived}, 3),
    }
    for label, (selector, first) in selectors.items():
        payload = media.get_media(StreamName=stream.name, StartSelector=selector)["Payload"].read()
        sent = [tags_of(d)[0]["AWS_KINESISVIDEO_FRAGMENT_NUMBER"] for d in split_documents(payload)]
        assert sent == numbers[first:], label
        path = tmp_path / f"{label}.mkv"
        path.write_bytes(payload)
        origin = stream.producer_time(first)
        check_decoders(stream, path, stream.frames_from(first), browser, origin=origin, mid_stream=first > 0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_hls_segments(variant: str, streams: dict[str, Stream], kvs: Kvs, browser: BrowserDecoder) -> None:
    stream = streams[variant]
    start = stream.producer_time(1) + 0.3
    url = archived(kvs, stream, "GET_HLS_STREAMING_SESSION_URL").get_hls_streaming_session_url(
        StreamName=stream.name,
        PlaybackMode="ON_DEMAND",
        HLSFragmentSelector={
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": start, "EndTimestamp": stream.producer_time(3) - 0.3},
        },
    )["HLSStreamingSessionURL"]
    # each segment decodes on its own: its GOP's frames from the key frame on, at the stream's times
    expected = [round(p - stream.gops[1].key, 6) for g in stream.gops[1:3] for p in g.from_key]
    times = ffmpeg_frames(url, stream.variant.entry_notes)
    assert [round(t - times[0], 3) for t in times] == pytest.approx(expected, abs=0.0015)
    assert len(opencv_frames(url).times) == len(expected)

    def play() -> None:
        shown = browser.read(url, hls=True)
        assert (shown.frames, shown.size) == (len(expected), stream.variant.size)

    if stream.variant.entry_notes:  # every segment is an entry point
        chromium_refuses_open_gop_entry(play)
    else:
        play()


@pytest.mark.parametrize("variant", VARIANTS)
def test_get_images_mid_gop(variant: str, streams: dict[str, Stream], kvs: Kvs) -> None:
    stream = streams[variant]
    start = stream.producer_time(1) + 0.45
    end = stream.producer_time(2) + 0.7
    images = archived(kvs, stream, "GET_IMAGES").get_images(
        StreamName=stream.name,
        ImageSelectorType="PRODUCER_TIMESTAMP",
        StartTimestamp=start,
        EndTimestamp=end,
        SamplingInterval=200,
        Format="JPEG",
    )["Images"]
    # per tick: the first frame at or after it that decodes from its own fragment's key frame
    decodable = sorted(
        stream.producer_time(i) + p - g.key for i, g in enumerate(stream.gops) for p in g.from_key
    )
    expected: list[float] = []
    tick = start
    while tick <= end:
        shown = next(t for t in decodable if t >= tick - 0.0005)
        if shown > end:
            break
        expected.append(shown)
        tick = tick + 0.2 * (1 + int((shown - tick) / 0.2 + 1e-9))
    assert [i["TimeStamp"].timestamp() for i in images] == pytest.approx(expected, abs=0.0015)
    for image in images:
        picture = cv2.imdecode(np.frombuffer(base64.b64decode(image["ImageContent"]), np.uint8), 1)
        assert (picture.shape[1], picture.shape[0]) == stream.variant.size
