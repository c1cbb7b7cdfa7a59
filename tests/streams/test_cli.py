"""`videolens streams` commands, in-process on a temp data directory."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from videolens.cli import app


def test_create_put_list_clip(tmp_path: Path, hamilton_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOLENS_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    created = runner.invoke(app, ["streams", "create", "door", "--retention-hours", "48", "--json"])
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["StreamARN"].startswith("arn:aws:kinesisvideo:")

    put = runner.invoke(app, ["streams", "put", "door", str(hamilton_clip)])
    assert put.exit_code == 0, put.output
    assert "6 fragments stored" in put.stdout

    listed = runner.invoke(app, ["streams", "fragments", "door", "--json"])
    fragments = json.loads(listed.stdout)
    assert [f["ms"] for f in fragments] == [2002, 2002, 1435, 1601, 2002, 133]

    out = tmp_path / "door.mp4"
    clipped = runner.invoke(app, ["streams", "clip", "door", str(out)])
    assert clipped.exit_code == 0, clipped.output
    with av.open(io.BytesIO(out.read_bytes())) as container:
        assert sum(1 for _ in container.decode(video=0)) == 275

    streams = json.loads(runner.invoke(app, ["streams", "list", "--json"]).stdout)
    assert [(s["name"], s["retention_hours"]) for s in streams] == [("door", 48)]
    assert runner.invoke(app, ["streams", "delete", "door"]).exit_code == 0
    missing = runner.invoke(app, ["streams", "fragments", "door"])
    assert missing.exit_code == 2 and "not found" in missing.output
