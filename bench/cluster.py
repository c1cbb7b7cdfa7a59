"""Cluster capacity, 1 node vs 2 nodes of each role, side by side in one run (docs/deploy.md sizes from it).

Ingest: live PutMedia streams at ~2 Mbit/s sent in real time, spread over the api nodes; capacity is the
most streams whose PERSISTED acks all come within 0.5 s (p99) of the fragment's last byte.
Jobs: face-detection jobs on the 10-s test clip, spread over the workers by the job queue; throughput in
jobs per minute. Costs: CPU seconds of the nodes per stream-second and per job.

    .venv/bin/python bench/cluster.py [--levels 1,2,4] [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import psutil

from videolens.cli.local_cluster import LocalCluster
from videolens.media.mkv_reader import Block, ClusterStart, MkvReader, SegmentInfo, Tracks
from videolens.producer import AckRecord, put_media, realtime_chunks

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("VIDEOLENS_TEST_MEDIA", ROOT.parent / "shared" / "media"))
CLIP = MEDIA / "video" / "short_hamilton_clip.mp4"
ENV = {"VIDEOLENS_JOB_DETECT_EVERY": "3", "VIDEOLENS_LOG_LEVEL": "WARNING"}


def source_2mbit() -> bytes:
    cmd = ["ffmpeg", "-v", "error", "-i", str(CLIP), "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M"]
    cmd += ["-maxrate", "2M", "-bufsize", "2M", "-g", "50", "-sc_threshold", "0", "-c:a", "copy"]
    return subprocess.run(
        [*cmd, "-f", "matroska", "-live", "1", "pipe:1"], check=True, capture_output=True
    ).stdout


def fragment_ends(data: bytes) -> dict[int, float]:
    """Fragment start timecode (ms) → seconds from the first cluster at which the fragment's last byte
    has been sent in real time (fragments are GOPs: a fragment ends where the next key frame starts)."""
    reader = MkvReader()
    events = reader.feed(data) + reader.close()
    scale = next((e.timecode_scale for e in events if isinstance(e, SegmentInfo)), 1_000_000)
    video = next(t.number for e in events if isinstance(e, Tracks) for t in e.tracks if t.type == 1)
    origin = next(e.timecode for e in events if isinstance(e, ClusterStart))
    keys = [e.timecode for e in events if isinstance(e, Block) and e.track == video and e.keyframe]
    last = max(e.timecode for e in events if isinstance(e, Block))
    bounds = [*keys[1:], last]
    to_ms = scale / 1e6
    return {round(k * to_ms): (b - origin) * scale / 1e9 for k, b in zip(keys, bounds, strict=False)}


def client(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )


def cpu_seconds(nodes: list[Any]) -> float:
    total = 0.0
    for node in nodes:
        t = psutil.Process(node.pid).cpu_times()
        total += t.user + t.system
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ingest_level(
    cluster: LocalCluster, data: bytes, ends: dict[int, float], streams: int, tag: str
) -> dict[str, Any]:
    lat: list[float] = []
    errors = 0
    lock = threading.Lock()
    video = client("kinesisvideo", cluster.api[0].url)
    names = [f"bench-{tag}-{streams}-{i}" for i in range(streams)]
    for name in names:
        video.create_stream(StreamName=name, DataRetentionInHours=1)

    def producer(i: int, name: str) -> None:
        nonlocal errors
        url = cluster.api[i % len(cluster.api)].url
        start = time.monotonic()

        def on_ack(ack: AckRecord) -> None:
            nonlocal errors
            with lock:
                if ack.event == "PERSISTED":
                    end = ends.get(int(ack.doc["FragmentTimecode"]))
                    if end is not None:
                        lat.append(ack.received_at - start - end)
                elif ack.event == "ERROR":
                    errors += 1

        put_media(url, realtime_chunks(data), stream_name=name, on_ack=on_ack)

    cpu0 = cpu_seconds(cluster.api)
    threads = [threading.Thread(target=producer, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = cpu_seconds(cluster.api) - cpu0
    return {
        "streams": streams,
        "p99": percentile(lat, 0.99) if lat else float("inf"),
        "errors": errors,
        "cpu_per_stream_s": cpu / (streams * max(ends.values())),
        "acks": len(lat),
    }


def jobs_run(cluster: LocalCluster, count: int) -> dict[str, float]:
    url = cluster.api[0].url
    s3, rek = client("s3", url), client("rekognition", url)
    s3.create_bucket(Bucket="bench")
    s3.upload_file(str(CLIP), "bench", "clip.mp4")
    cpu0 = cpu_seconds(cluster.workers)
    t0 = time.monotonic()
    ids = [
        rek.start_face_detection(Video={"S3Object": {"Bucket": "bench", "Name": "clip.mp4"}})["JobId"]
        for _ in range(count)
    ]
    for job_id in ids:
        while rek.get_face_detection(JobId=job_id, MaxResults=1)["JobStatus"] == "IN_PROGRESS":
            time.sleep(0.2)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(cluster.workers) - cpu0
    return {"jobs_per_min": count * 60 / wall, "cpu_per_job_s": cpu / count, "wall_s": wall}


def measure(nodes: int, data: bytes, ends: dict[int, float], levels: list[int], jobs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vl-bench-") as tmp:
        cluster = LocalCluster(Path(tmp), api_nodes=nodes, worker_nodes=nodes, node_env=ENV).start()
        try:
            ingest = [ingest_level(cluster, data, ends, n, f"n{nodes}") for n in levels]
            return {"ingest": ingest, "jobs": jobs_run(cluster, jobs)}
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="1,2,4")
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    data = source_2mbit()
    ends = fragment_ends(data)
    mbit = len(data) * 8 / max(ends.values()) / 1e6
    load = os.getloadavg()[0]
    print(f"load: {load:.2f} on {os.cpu_count()} cores; source {mbit:.2f} Mbit/s, {len(ends)} fragments")
    results = {n: measure(n, data, ends, levels, args.jobs) for n in (1, 2)}
    for n, r in results.items():
        ok = [x["streams"] for x in r["ingest"] if x["p99"] < 0.5 and x["errors"] == 0]
        print(
            f"\n{n} api + {n} worker node(s): ingest capacity >= {max(ok) if ok else 0} streams (p99 < 0.5 s)"
        )
        for x in r["ingest"]:
            print(
                f"  {x['streams']:>2} streams: PERSISTED p99 {x['p99']:.3f} s ({x['acks']} acks), "
                f"errors {x['errors']}, "
                f"api CPU {x['cpu_per_stream_s'] * 100:.1f} % of a core per stream"
            )
        j = r["jobs"]
        print(
            f"  jobs: {j['jobs_per_min']:.1f} face-detection jobs/min (10-s clip), "
            f"{j['cpu_per_job_s']:.1f} worker CPU-s per job"
        )
    one, two = results[1]["jobs"], results[2]["jobs"]
    print(f"\njob throughput 2 nodes / 1 node: {two['jobs_per_min'] / one['jobs_per_min']:.2f}x")
    p1 = results[1]["ingest"][-1]["p99"]
    p2 = results[2]["ingest"][-1]["p99"]
    print(f"p99 at {levels[-1]} streams, 1 node / 2 nodes: {p1 / p2 if p2 else float('inf'):.2f}x")


if __name__ == "__main__":
    main()
