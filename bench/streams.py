"""Streams benchmark: concurrent real-time PutMedia producers at 2 Mbit/s against a `videolens serve`
process (PERSISTED latency p50/p99, server CPU per stream), then GetClip latency for a 60 s clip.

Run: .venv/bin/python bench/streams.py [--streams 1,4,8] [--seconds 20] [--cores 0,1]
GetClip only, on a source with B-frames: .venv/bin/python bench/streams.py --streams '' --bframes
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import httpx

from videolens.media.mkv_fragmenter import Fragmenter
from videolens.media.mkv_reader import MkvReader
from videolens.producer import AckRecord, chunks_of, put_media, realtime_chunks

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "AKIDBENCH", "aws_secret_access_key": "bench"}


def make_source(path: Path, seconds: int, bframes: bool = False) -> bytes:
    """A 2 Mbit/s H.264 (2 s GOP, 25 fps, 1280x720) + AAC test stream as a live Matroska muxer writes it.

    With bframes, libx264 veryfast (3 B-frames, pyramid, like the defaults) instead of ultrafast (none).
    """
    preset = "veryfast" if bframes else "ultrafast"
    cmd = [
        "ffmpeg", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-preset", preset, "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
        "-b:v", "1900k", "-maxrate", "1900k", "-bufsize", "1900k",
        "-c:a", "aac", "-b:a", "96k", "-f", "matroska", "-live", "1", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    return path.read_bytes()


def fragment_ends(data: bytes) -> dict[int, float]:
    """Producer timecode (ms) of each fragment's start → seconds after the first cluster when it ends."""
    reader = MkvReader()
    fragmenter = Fragmenter()
    frags = []
    for event in reader.feed(data) + reader.close():
        frags.extend(fragmenter.feed(event))
    frags.extend(fragmenter.flush())
    origin = _first_cluster_ms(data)  # realtime_chunks() paces from the first cluster on
    return {f.timecode: (f.timecode + f.duration - origin) / 1000.0 for f in frags}


def _first_cluster_ms(data: bytes) -> int:
    from videolens.media.mkv_reader import ClusterStart

    reader = MkvReader()
    return next(e.timecode for e in reader.feed(data[:200_000]) if isinstance(e, ClusterStart))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(data_dir: Path, cores: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(
        os.environ,
        VIDEOLENS_DATA_DIR=str(data_dir),
        VIDEOLENS_LOG_LEVEL="WARNING",
        VIDEOLENS_LOG_JSON="false",
    )
    binary = str(Path(sys.executable).parent / "videolens")
    cmd = [binary, "serve", "--port", str(port)]
    if cores and shutil.which("taskset"):
        cmd = ["taskset", "-c", cores, *cmd]
    process = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def run_level(url: str, pid: int, data: bytes, ends: dict[int, float], streams: int, level: int) -> None:
    video = boto3.client("kinesisvideo", endpoint_url=url, **CREDENTIALS)
    names = [f"bench-{level}-{i}" for i in range(streams)]
    for name in names:
        video.create_stream(StreamName=name, DataRetentionInHours=1)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def producer(name: str) -> None:
        started = time.monotonic()

        def on_ack(ack: AckRecord) -> None:
            if ack.event == "PERSISTED":
                end = ends.get(int(ack.doc["FragmentTimecode"]))
                if end is not None:
                    with lock:
                        latencies.append(ack.received_at - (started + end))
            elif ack.event == "ERROR":
                with lock:
                    errors.append(str(ack.doc))

        put_media(url, realtime_chunks(data), stream_name=name, on_ack=on_ack, timeout=120)

    cpu_before = cpu_seconds(pid)
    wall_before = time.monotonic()
    threads = [threading.Thread(target=producer, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - wall_before
    cpu = cpu_seconds(pid) - cpu_before
    megabits = len(data) * 8 / 1e6 / (max(ends.values()) or 1)
    p50 = statistics.median(latencies)
    print(
        f"{streams:3d} streams x {megabits:.1f} Mbit/s: PERSISTED latency p50 {p50:.3f} s, "
        f"p99 {percentile(latencies, 0.99):.3f} s ({len(latencies)} fragments, {len(errors)} errors); "
        f"server CPU {cpu / wall * 100:.0f}% of a core = {cpu / wall / streams * 100:.1f}% per stream"
    )


def ffmpeg_remux_seconds(source: Path) -> float:
    """The peer: ffmpeg remuxing the same Matroska to MP4 without re-encoding (median of 3 runs)."""
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):
            began = time.perf_counter()
            cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c", "copy", "-f", "mp4"]
            subprocess.run([*cmd, f"{tmp}/out.mp4"], check=True)
            samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def decoded_frames(mp4: bytes) -> int:
    import cv2

    with tempfile.NamedTemporaryFile(suffix=".mp4") as file:
        file.write(mp4)
        file.flush()
        capture = cv2.VideoCapture(file.name)
        count = 0
        while capture.read()[0]:
            count += 1
        capture.release()
    return count


def clip_latency(url: str, data: bytes, source: Path) -> None:
    video = boto3.client("kinesisvideo", endpoint_url=url, **CREDENTIALS)
    video.create_stream(StreamName="bench-clip", DataRetentionInHours=1)
    put_media(url, chunks_of(data, 256 * 1024), stream_name="bench-clip", timeout=120)
    endpoint = video.get_data_endpoint(StreamName="bench-clip", APIName="GET_CLIP")["DataEndpoint"]
    archived = boto3.client("kinesis-video-archived-media", endpoint_url=endpoint, **CREDENTIALS)
    fragments = archived.list_fragments(StreamName="bench-clip")["Fragments"]
    start = min(f["ProducerTimestamp"] for f in fragments)
    end = max(f["ProducerTimestamp"] for f in fragments)
    samples = []
    size = 0
    for _ in range(3):
        began = time.perf_counter()
        body = archived.get_clip(
            StreamName="bench-clip",
            ClipFragmentSelector={
                "FragmentSelectorType": "PRODUCER_TIMESTAMP",
                "TimestampRange": {"StartTimestamp": start, "EndTimestamp": end},
            },
        )["Payload"].read()
        samples.append(time.perf_counter() - began)
        size = len(body)
    seconds = sum(f["FragmentLengthInMilliseconds"] for f in fragments) / 1000
    ours = statistics.median(samples)
    peer = ffmpeg_remux_seconds(source)
    print(
        f"GetClip of {seconds:.0f} s ({len(fragments)} fragments, MP4 {size / 1e6:.1f} MB, "
        f"{decoded_frames(body)} frames decoded by OpenCV): "
        f"median {ours * 1000:.0f} ms, first byte to last byte, 3 runs; ffmpeg -c copy of the same "
        f"source to MP4: {peer * 1000:.0f} ms; GetClip / ffmpeg remux = {ours / peer:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", default="1,4,8", help="concurrency levels")
    parser.add_argument("--seconds", type=int, default=20, help="length of each real-time upload")
    parser.add_argument("--cores", default="0,1", help="CPU list for the server (taskset), '' for all")
    parser.add_argument("--bframes", action="store_true", help="GetClip source with B-frames (x264 veryfast)")
    args = parser.parse_args()
    print(f"cpu cores on this machine: {os.cpu_count()}; server pinned to: {args.cores or 'all'}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        levels = [int(s) for s in args.streams.split(",") if s]
        live = make_source(work / "live.mkv", args.seconds) if levels else b""
        long = make_source(work / "long.mkv", 60, args.bframes)
        ends = fragment_ends(live) if levels else {}
        process, url = start_server(work / "data", args.cores)
        try:
            for level, streams in enumerate(levels):
                run_level(url, process.pid, live, ends, streams, level)
            clip_latency(url, long, work / "long.mkv")
        finally:
            process.terminate()
            process.wait(20)


if __name__ == "__main__":
    main()
