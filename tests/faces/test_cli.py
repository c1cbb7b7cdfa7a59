"""Issue 2: the `videolens` CLI for collections and faces, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VIDEOLENS = [sys.executable, "-m", "videolens.cli"]


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIDEOLENS_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run([*VIDEOLENS, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_collections_index_search(tmp_path: Path, faces_dir: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "collections", "create", "people").returncode == 0
    for person in ("obama", "biden"):
        photos = [str(p) for p in sorted((faces_dir / person).iterdir())]
        r = run(data, "faces", "index", "people", *photos, "--external-id", person)
        assert r.returncode == 0, r.stderr
    listing = run(data, "collections", "list")
    assert "people" in listing.stdout and " 5 " in listing.stdout
    r = run(data, "faces", "search", "people", str(faces_dir / "_test" / "obama_and_biden.jpg"))
    assert r.returncode == 0, r.stderr
    assert "obama" in r.stdout and "biden" in r.stdout and "no match" in r.stdout
    r = run(data, "faces", "detect", str(faces_dir / "_test" / "kit_with_rose.jpg"))
    assert r.returncode == 0 and r.stdout.count('"bounding_box"') == 2


def test_cli_bad_input_exit_code_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"definitely not a jpeg")
    r = run(data, "faces", "detect", str(junk))
    assert r.returncode == 2 and "error" in r.stderr and "Traceback" not in r.stderr
    r = run(data, "faces", "search", "missing", str(junk))
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = run(data, "faces", "detect", str(tmp_path / "nope.jpg"))
    assert r.returncode == 2 and "cannot read" in r.stderr
    run(data, "collections", "create", "dup")
    r = run(data, "collections", "create", "dup")
    assert r.returncode == 2 and "already exists" in r.stderr
