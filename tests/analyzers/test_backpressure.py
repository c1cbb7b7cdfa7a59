"""Must-show 4: a model that takes 1 s a call on a 30 fps stream: memory stays flat, the lag is reported,
records keep coming at the model's pace (lag policy `live`: busy slots drop frames, late fragments are
skipped, both counted)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.analyzers.conftest import (
    analyzer,
    client,
    create_analyzer,
    records,
    register_model,
    start,
)
from tests.conftest import RunningServer


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_slow_model_keeps_its_pace_with_flat_memory(
    server: RunningServer, people_endpoint: tuple, pedestrians: Path
) -> None:
    endpoint, behaviour = people_endpoint
    behaviour.sleep_s = 1.0
    kvs, kinesis = client("kinesisvideo", server.url), client("kinesis", server.url)
    kvs.create_stream(StreamName="busy", DataRetentionInHours=24)
    kinesis.create_stream(StreamName="slow-out", ShardCount=1)
    register_model(server, "slow-people", "http", url=endpoint.url + "/invocations", timeout_s=10)
    create_analyzer(
        server,
        name="slow",
        model="slow-people",
        streams=["busy"],
        sampling={"every_n_frames": 1},  # every frame of 30 fps: 30 x what the model can do
        output={"data_stream": "slow-out"},
        max_in_flight=2,
        timeout_ms=8000,
        lag_policy="live",
    )
    start(server, "slow")
    put = kvs.get_data_endpoint(StreamName="busy", APIName="PUT_MEDIA")["DataEndpoint"]
    # the 9 s clip three times over: 27 s of 30 fps video
    cmd = ["ffmpeg", "-v", "error", "-re", "-stream_loop", "2", "-i", str(pedestrians), "-an"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-keyint_min", "30", "-f", "matroska"]
    headers = (
        "x-amzn-stream-name: busy\r\nx-amzn-fragment-timecode-type: RELATIVE\r\n"
        f"x-amzn-producer-start-timestamp: {time.time():.3f}\r\n"
    )
    cmd += ["-live", "1", "-method", "POST", "-chunked_post", "1", "-headers", headers, put + "/putMedia"]
    started = time.monotonic()
    ffmpeg = subprocess.Popen(cmd)
    rss: list[tuple[float, float]] = []
    counts: list[tuple[float, int]] = []
    lags: list[float] = []
    try:
        while ffmpeg.poll() is None:
            time.sleep(1.0)
            t = time.monotonic() - started
            rss.append((t, _rss_mb()))
            counts.append((t, len(records(kinesis, "slow-out"))))
            lags.append(analyzer(server, "slow")["stream_states"][0]["lag_ms"])
    finally:
        if ffmpeg.poll() is None:
            ffmpeg.kill()
    assert ffmpeg.returncode == 0
    elapsed = time.monotonic() - started
    assert elapsed > 25
    # records at the model's pace: about one a second (the model server answers one call at a time)
    late = [(t, n) for t, n in counts if t >= 8]
    (t0, n0), (t1, n1) = late[0], late[-1]
    pace = (n1 - n0) / (t1 - t0)
    assert 0.6 <= pace <= 1.3, counts
    assert behaviour.calls <= elapsed + 3
    # memory flat: after warm-up, resident memory moves by less than 40 MB
    steady = [m for t, m in rss if t >= 8]
    assert max(steady) - min(steady) < 40, rss
    state = analyzer(server, "slow")["stream_states"][0]
    # skipping is counted: frames dropped while both calls were busy, fragments jumped over
    assert state["frames_skipped"] > 10 * state["frames_analysed"] > 0
    assert state["fragments_skipped"] > 0
    # the lag is reported and stays bounded (it does not grow with the stream)
    assert max(lags) > 500 and max(lags[len(lags) // 2 :]) < 10_000, lags
    assert state["errors"] == 0
