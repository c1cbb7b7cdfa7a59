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


def bash_block_after(heading: str) -> str:
    """The first ```bash block after the heading line that starts with `heading`."""
    text = README.read_text()
    start = next(i for i, line in enumerate(text.splitlines()) if line.startswith(heading))
    rest = "\n".join(text.splitlines()[start:])
    match = re.search(r"```bash\n(.*?)```", rest, re.S)
    assert match, f"no bash block after {heading!r}"
    return match.group(1)


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
