"""`videolens processors ...` as a user runs it (a separate process on the data directory), and `watch`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.conftest import make_settings
from videolens.container import Container
from videolens.services.datastreams.models import PutRecordInput
from videolens.services.live.records import face_search_record
from videolens.services.streams.models import FragmentInfo
from videolens.vision.models import ModelRegistry


def _lines(path: Path, count: int, timeout: float = 60) -> list[str]:
    """The first `count` lines a child wrote to `path`, failing instead of hanging when they do not come."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines[:count]
        assert time.monotonic() < deadline, f"only {lines} in time"
        time.sleep(0.1)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videolens.cli", "processors", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_lifecycle_and_watch(tmp_path: Path, models: ModelRegistry, media_dir: Path) -> None:
    data = tmp_path / "data"
    # the CLI processes and this one share the data-stream log: Redis Streams (the multi-process log)
    log_url = f"redis://127.0.0.1:6379/0?prefix=vl-cli-{uuid.uuid4().hex[:8]}:"
    c = Container(make_settings(data, datastreams_url=log_url), models=models)
    try:
        c.faces.create_collection("people")
        indexed = c.faces.index_faces(
            "people",
            (media_dir / "faces" / "obama" / "obama2.jpg").read_bytes(),
            external_image_id="obama",
            max_faces=1,
        )
        c.streams.create_stream("lobby", retention_hours=1)
        c.datastreams.create_stream("matches", shard_count=1)
    finally:
        c.close()
    env = {
        **os.environ,
        "VIDEOLENS_DATA_DIR": str(data),
        "VIDEOLENS_DATASTREAMS_URL": log_url,
        "COLUMNS": "200",
    }

    made = _cli(
        env, "create", "door", "--stream", "lobby", "--data-stream", "matches", "--collection", "people"
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().endswith(":streamprocessor/door")
    again = _cli(
        env, "create", "door", "--stream", "lobby", "--data-stream", "matches", "--collection", "people"
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    missing = _cli(
        env, "create", "x", "--stream", "lobby", "--data-stream", "matches", "--collection", "nobody"
    )
    assert missing.returncode == 2 and "nobody" in missing.stderr
    listed = _cli(env, "list", "--json")
    assert json.loads(listed.stdout) == [{"Name": "door", "Status": "STOPPED"}]
    started = _cli(env, "start", "door")
    assert started.returncode == 0 and "no live-analysis worker is running" in started.stdout
    assert json.loads(_cli(env, "describe", "door").stdout)["Status"] == "STARTING"
    assert _cli(env, "delete", "door").returncode == 2  # running (starting): stop it first
    assert _cli(env, "stop", "door").returncode == 0
    assert json.loads(_cli(env, "describe", "door").stdout)["Status"] == "STOPPED"

    # watch tails the output stream from now on and prints each match as it is published
    out = (tmp_path / "watch.out").open("w")
    watcher = subprocess.Popen(
        [sys.executable, "-m", "videolens.cli", "processors", "watch", "door"],
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        assert _lines(tmp_path / "watch.out", 1)[0].startswith("watching door (STOPPED)")
        c = Container(make_settings(data, datastreams_url=log_url), models=models)
        try:
            arn = c.streams.describe_stream(name="lobby").arn
            fragment = FragmentInfo(
                stream_id=1,
                seq=0,
                fragment_number="91343852333181432392682062607743920146264532221",
                producer_ts=1764585000.0,
                server_ts=1764585000.5,
                duration_ms=1000,
                size=1,
                blob_key="",
                cluster_offset=0,
                session_id="",
                buffer_only=False,
            )
            analysis = c.faces.analysis
            image = analysis.analyse((media_dir / "faces" / "_test" / "obama1.jpg").read_bytes())
            detail = image.details[0]
            match = c.faces.search_embeddings(
                "people", list(analysis.embed(image.image, image.detections[:1]))
            )[0]
            assert match and match[0].face.face_id == indexed.records[0].face.face_id
            records = [
                face_search_record(arn, fragment, 0.0, []),  # nobody: no line
                face_search_record(arn, fragment, 0.2, [(detail, match), (detail, [])]),
            ]
            data_arn = c.datastreams.describe_stream_summary(name="matches").arn
            time.sleep(1.0)  # watch starts at LATEST: publish once it is tailing
            c.datastreams.put_records([PutRecordInput(r, "door") for r in records], arn=data_arn)
        finally:
            c.close()
        line = _lines(tmp_path / "watch.out", 2)[1]
        assert "…532221" in line and "obama" in line and "unknown" in line, line
        assert f"{match[0].similarity:.1f}" in line
    finally:
        watcher.terminate()
        watcher.wait(20)
        out.close()
