"""Stream-processor benchmark: fragment persisted → its face-search records readable in the data stream.

For 1, 4 and 8 concurrent 720p streams (ffmpeg `-re` PutMedia producers of the shared Hamilton clip,
scaled to 1280x720 once, then sent with `-c copy`), one FaceSearch processor per stream on one
in-process server: per fragment, latency = arrival of its records in the data stream (server clock)
− the fragment's ServerTimestamp. Prints p50 / p95 per stream count and whether the processors kept
up (every fragment done within 5 s of the producers ending, max lag in fragments).

Side by side in the same run, the ceiling: one processor started from the first stored fragment of a
stream already written (catch-up, no producer) analyses it as fast as it can; its speed in video
seconds per wall second says how many streams this machine could keep up with at this load. Each row
carries the 1-minute load average before and after it.

Run from the repository root: `.venv/bin/python bench/processors.py [--streams 1 4 8] [--seconds 20]`.
The producers run on the same machine (ffmpeg copying, little CPU); figures are noisy when others
run: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from videolens.api.app import create_app
from videolens.container import Container
from videolens.runtime.settings import Settings

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _source(tmp: Path, seconds: int) -> Path:
    out = tmp / "720p.mkv"
    clip = MEDIA / "video" / "short_hamilton_clip.mp4"
    cmd = ["ffmpeg", "-v", "error", "-stream_loop", "-1", "-i", str(clip), "-t", str(seconds), "-an"]
    cmd += [
        "-vf",
        "scale=1280:720",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "25",
        "-r",
        "25",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    return out


def _run(container: Container, url: str, video: Path, n: int, round_id: int) -> dict[str, float]:
    c = container
    load_before = round(os.getloadavg()[0], 2)
    names = [f"cam{round_id}-{i}" for i in range(n)]
    c.datastreams.create_stream(f"out{round_id}", shard_count=n)
    data_arn = c.datastreams.describe_stream_summary(name=f"out{round_id}").arn
    for name in names:
        arn = c.streams.create_stream(name, retention_hours=1).arn
        c.processors.create(
            name,
            {
                "Input": {"KinesisVideoStream": {"Arn": arn}},
                "Output": {"KinesisDataStream": {"Arn": data_arn}},
                "Settings": {"FaceSearch": {"CollectionId": "bench"}},
                "RoleArn": "arn:aws:iam::000000000000:role/bench",
            },
        )
        c.processors.start(name)
    while any(c.processors.describe(x).status != "RUNNING" for x in names):
        time.sleep(0.1)
    producers = []
    for name in names:
        cmd = ["ffmpeg", "-v", "error", "-re", "-i", str(video), "-c", "copy", "-f", "matroska", "-live", "1"]
        cmd += ["-method", "POST", "-chunked_post", "1", "-headers", f"x-amzn-stream-name: {name}\r\n"]
        producers.append(subprocess.Popen([*cmd, url + "/putMedia"]))
    max_lag = 0
    while any(p.poll() is None for p in producers):
        max_lag = max([max_lag] + [c.processors.describe(x).lag_fragments for x in names])
        time.sleep(0.5)
    ended = time.time()
    server_ts = {}
    for name in names:
        for f in c.streams.fragments_after(None, name=name, limit=10000):
            server_ts[f.fragment_number] = f.server_ts
    kept_up = True
    while sum(c.processors.describe(x).fragments_done for x in names) < len(server_ts):
        if time.time() - ended > 5:
            kept_up = False
            break
        time.sleep(0.1)
    latencies = []
    shards, _ = c.datastreams.list_shards(name=f"out{round_id}")
    for shard in shards:
        it: str | None = c.datastreams.get_shard_iterator(
            shard.shard_id, "TRIM_HORIZON", name=f"out{round_id}"
        )
        seen = set()
        while it:
            page = c.datastreams.get_records(it)
            if not page.records:
                break
            for r in page.records:
                number = json.loads(r.data)["InputInformation"]["KinesisVideo"]["FragmentNumber"]
                if number not in seen and number in server_ts:
                    seen.add(number)
                    latencies.append(r.arrival - server_ts[number])
            it = page.next_iterator
    for name in names:
        c.processors.stop(name)
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [latencies[0]] * 19
    return {
        "load_before": load_before,
        "load_after": round(os.getloadavg()[0], 2),
        "streams": n,
        "fragments": len(latencies),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(q[18], 3),
        "max_lag_fragments": max_lag,
        "kept_up": kept_up,
    }


def _ceiling(c: Container, stream: str) -> dict[str, object]:
    """One processor catching up on a stored stream from its first fragment: video s per wall s."""
    fragments = c.streams.fragments_after(None, name=stream, limit=10000)
    video_s = fragments[-1].end_producer_ts - fragments[0].producer_ts
    load_before = round(os.getloadavg()[0], 2)
    arn = c.streams.describe_stream(name=stream).arn
    data_arn = c.datastreams.describe_stream_summary(name="out0").arn
    c.processors.create(
        "ceiling",
        {
            "Input": {"KinesisVideoStream": {"Arn": arn}},
            "Output": {"KinesisDataStream": {"Arn": data_arn}},
            "Settings": {"FaceSearch": {"CollectionId": "bench"}},
            "RoleArn": "arn:aws:iam::000000000000:role/bench",
        },
    )
    start = time.monotonic()
    c.processors.start(
        "ceiling", {"KVSStreamStartSelector": {"FragmentNumber": fragments[0].fragment_number}}
    )
    while c.processors.describe("ceiling").fragments_done < len(fragments):
        time.sleep(0.05)
    wall = time.monotonic() - start
    c.processors.stop("ceiling")
    return {
        "ceiling": "one processor, catch-up from stored fragments",
        "load_before": load_before,
        "load_after": round(os.getloadavg()[0], 2),
        "video_s": round(video_s, 2),
        "wall_s": round(wall, 2),
        "x_real_time": round(video_s / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        video = _source(tmp, args.seconds)
        settings = Settings(data_dir=tmp / "data", port=_port(), log_json=False)  # type: ignore[call-arg]
        container = Container(settings)
        container.faces.create_collection("bench")
        for photo in (MEDIA / "faces" / "obama").glob("*.jp*g"):
            container.faces.index_faces("bench", photo.read_bytes(), external_image_id="obama", max_faces=1)
        server = uvicorn.Server(
            uvicorn.Config(create_app(container), port=settings.port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        url = f"http://127.0.0.1:{settings.port}"
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        for i, n in enumerate(args.streams):
            print(_run(container, url, video, n, i), flush=True)
        print(_ceiling(container, "cam0-0"), flush=True)
        server.should_exit = True
        container.close()


if __name__ == "__main__":
    main()
