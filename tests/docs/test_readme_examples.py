"""The README's shell examples run as written (against a live server on a test port)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, RunningServer

README = REPO_ROOT / "README.md"


def block_after(heading: str, lang: str = "bash") -> str:
    """The first fenced block of `lang` after the heading line that starts with `heading`."""
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    match = re.search(rf"```{lang}\n(.*?)```", "\n".join(lines[start:]), re.S)
    assert match, f"no {lang} block after {heading!r}"
    return match.group(1)


def bash_block_after(heading: str) -> str:
    return block_after(heading, "bash")


def against(server: RunningServer, text: str) -> str:
    """README examples name the default port; point them at the test server instead."""
    return text.replace("localhost:8080", f"127.0.0.1:{server.port}").replace(
        "127.0.0.1:8080", f"127.0.0.1:{server.port}"
    )


def cli_env(server: RunningServer) -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {
        "VIDEOLENS_DATA_DIR": str(server.container.settings.data_dir),
        "PATH": bindir + ":" + os.environ["PATH"],
        "COLUMNS": "200",
    }


def json_documents(text: str) -> list[dict]:  # type: ignore[type-arg]
    """Every JSON object printed one after the other (curl prints no newline between them)."""
    decoder = json.JSONDecoder()
    docs, pos = [], 0
    while (start := text.find("{", pos)) != -1:
        doc, pos = decoder.raw_decode(text, start)
        docs.append(doc)
    return docs


def run_bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def test_curl_quickstart(server: RunningServer) -> None:
    script = bash_block_after("### Quickstart with curl").replace(
        "localhost:8080", f"127.0.0.1:{server.port}"
    )
    r = run_bash(script, {})
    assert r.returncode == 0, r.stderr
    docs = json_documents(r.stdout)
    # outputs in order: create, describe, recognize, search, detect, compare, list
    created, described, recognized, searched, detected, compared, listed = docs
    assert created["collection_id"] == "people"
    assert described["face_count"] == 10
    names = sorted(
        f["matches"][0]["face"]["external_image_id"] if f["matches"] else "-" for f in recognized["faces"]
    )
    assert names == ["-", "biden", "obama"]
    assert searched["matches"][0]["face"]["external_image_id"] == "kit_harington"
    assert len(detected["faces"]) == 2
    assert len(compared["matches"]) == 1
    assert len(listed["faces"]) == 2 and listed["next_token"]


def test_cli_quickstart(tmp_path: Path) -> None:
    script = bash_block_after("### The same with the CLI")
    bindir = str(Path(sys.executable).parent)
    r = run_bash(
        script,
        {
            "VIDEOLENS_DATA_DIR": str(tmp_path / "data"),
            "PATH": bindir + ":" + os.environ["PATH"],
            "COLUMNS": "200",
        },
    )
    assert r.returncode == 0, r.stderr
    assert "obama" in r.stdout and "biden" in r.stdout and "deleted collection people" in r.stdout


def test_streams_section(server: RunningServer, tmp_path: Path) -> None:
    import av

    r = run_bash(against(server, bash_block_after("## Video streams")), cli_env(server))
    assert r.returncode == 0, r.stderr
    fragments, _ = server.container.streams.list_fragments(name="cam1")
    assert len(fragments) >= 5
    with av.open("/tmp/cam1.mp4") as clip:
        assert {s.type for s in clip.streams} == {"video", "audio"}
        assert sum(1 for _ in clip.decode(video=0)) == 275

    code = against(server, block_after("## Video streams", "python"))
    exec(compile(code, "README.md", "exec"), {})
    with av.open("/tmp/clip.mp4") as clip:
        assert sum(1 for _ in clip.decode(video=0)) == 275


def test_jobs_section(server: RunningServer) -> None:
    import time

    r = run_bash(against(server, bash_block_after("## Stored-video jobs")), cli_env(server))
    assert r.returncode == 0, r.stderr
    assert "SUCCEEDED" in r.stdout
    storage = server.container.storage
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        keys = [o.key for o in storage.list_objects("videos", prefix="incoming/").objects]
        if "incoming/clip_anonymized.mp4" in keys:
            break
        time.sleep(1)
    else:
        raise AssertionError("the rule's anonymization result did not appear")


def test_anonymize_section(server: RunningServer) -> None:
    import av

    r = run_bash(against(server, bash_block_after("## Anonymize")), cli_env(server))
    assert r.returncode == 0, r.stderr
    assert "SUCCEEDED" in r.stdout
    for path, frames in (("/tmp/hamilton_anonymized.mp4", 275), ("/tmp/h_server.mp4", 275)):
        with av.open(path) as out:
            assert sum(1 for _ in out.decode(video=0)) == frames
    assert Path("/tmp/spared.jpg").stat().st_size > 0
    assert Path("/tmp/h.boxes.json").stat().st_size > 0


def test_datastreams_section(server: RunningServer) -> None:
    heading = "## Data streams"
    r = run_bash(against(server, bash_block_after(heading)), cli_env(server))
    assert r.returncode == 0, r.stderr
    tailed = [d for d in json_documents(r.stdout) if "partition_key" in d and "text" in d]
    assert sorted((d["partition_key"], json.loads(d["text"])) for d in tailed) == [
        ("cam1", {"face": "obama", "similarity": 99.1}),
        ("cam2", {"face": "biden"}),
        ("cam3", {"face": "kit"}),
    ]

    Path("/tmp/faces-checkpoints.json").unlink(missing_ok=True)  # from an earlier run on another server
    namespace: dict[str, object] = {}
    exec(compile(against(server, block_after(heading, "python")), "README.md", "exec"), namespace)
    frames = namespace["frames"]
    assert isinstance(frames, list) and len(frames) == 103
    assert sorted(f for f in frames if f is not None) == list(range(100))


def test_limits_section(server: RunningServer, tmp_path: Path) -> None:
    """'Limits and bad input': the oversized image is a 413, the bad option a 400, nothing stored."""
    script = against(server, bash_block_after("## Limits and bad input"))
    r = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    first, second = (json.loads(line) for line in r.stdout.split("\n") if line.strip())
    assert first["status"] == 413 and first["type"].endswith("/image-too-large")
    assert second["status"] == 400 and "mask_scale" in second["detail"]
    assert not (tmp_path / "big.png").exists()
    assert server.container.storage.list_buckets() == []
