"""RTSP push vs RTMP push into the same kind of channel: server CPU and glass-to-glass delay side by side.

One `videolens serve` (pinned to the given cores); a 720p30 version of the Hamilton clip is pushed in
real time (looped, stream copy) first over RTMP to an RTMP_PUSH input, then over RTSP (TCP interleaved)
to an RTSP_PUSH input, each into a channel encoding 720p HLS without anonymization, so the door and
the demuxer are most of what differs. Delay: push start + media end → segment listed in the live
playlist (0.1 s polling); CPU: the server process over the push.

Run: .venv/bin/python bench/rtsp_push.py [--seconds 30] [--cores 0,1]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

_spec = importlib.util.spec_from_file_location("bench_channels", Path(__file__).with_name("channels.py"))
assert _spec is not None and _spec.loader is not None
channels_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(channels_bench)


def one_push(ml: Any, s3: Any, pid: int, source: Path, protocol: str, seconds: float) -> dict[str, float]:
    user = f"bench{protocol}"
    cid, url = channels_bench.make_channel(ml, user, 1280, 720, 2_500_000, protocol, anonymize="none")
    muxer = ["-f", "flv"] if protocol == "rtmp" else ["-f", "rtsp", "-rtsp_transport", "tcp"]
    cpu0, wall0, start = channels_bench.cpu_seconds(pid), time.monotonic(), time.time()
    pusher = subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-t", str(seconds), "-i",
                               str(source), "-c", "copy", "-an", *muxer, url])  # fmt: skip
    seen: dict[str, float] = {}
    durations: dict[str, float] = {}
    while pusher.poll() is None or time.time() < start + seconds + 6:
        try:
            text = s3.get_object(Bucket="bench", Key=f"live/{user}_out.m3u8")["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            text = ""
        now = time.time()
        for duration, uri in re.findall(r"#EXTINF:([\d.]+),\n(\S+)", text):
            seen.setdefault(uri, now)
            durations[uri] = float(duration)
        if time.time() > start + seconds + 15:
            break
        time.sleep(0.1)
    cpu, wall = channels_bench.cpu_seconds(pid) - cpu0, time.monotonic() - wall0
    pusher.wait(10)
    ml.stop_channel(ChannelId=cid)
    while ml.describe_channel(ChannelId=cid)["State"] != "IDLE":
        time.sleep(0.2)
    media_end, delays = 0.0, []
    for uri in sorted(seen):
        media_end += durations[uri]
        delays.append(seen[uri] - (start + media_end))
    return {
        "produced": media_end,
        "delay": statistics.median(delays) if delays else float("nan"),
        "cpu": cpu / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--cores", default="0,1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = channels_bench.make_source(work / "source720.mp4", "1280:720")
        os.environ["VIDEOLENS_CHANNELS_RTSP_PORT"] = str(channels_bench.free_port())
        process, url = channels_bench.start_server(work / "data", args.cores, channels_bench.free_port())
        try:
            ml = boto3.client("medialive", endpoint_url=url, **channels_bench.CREDENTIALS)
            s3 = boto3.client("s3", endpoint_url=url, **channels_bench.CREDENTIALS)
            s3.create_bucket(Bucket="bench")
            results = {p: one_push(ml, s3, process.pid, source, p, args.seconds) for p in ("rtmp", "rtsp")}
        finally:
            process.terminate()
            process.wait(30)
    load = os.getloadavg()
    print(
        f"load average {load[0]:.1f} / {load[1]:.1f}; 720p30 push, stream copy,"
        f" {args.seconds:.0f} s each, 720p HLS"
    )
    for protocol, r in results.items():
        print(
            f"{protocol.upper()} push: output media {r['produced']:.1f} s"
            f" (rate {r['produced'] / args.seconds:.2f}),"
            f" glass-to-glass delay median {r['delay']:.2f} s, server CPU {r['cpu'] * 100:.0f}% of a core"
        )
    rtmp, rtsp = results["rtmp"], results["rtsp"]
    print(f"RTSP / RTMP: CPU x{rtsp['cpu'] / rtmp['cpu']:.2f}, delay {rtsp['delay'] - rtmp['delay']:+.2f} s")


if __name__ == "__main__":
    main()
