"""The `videolens anonymize` command: several inputs, directories, boxes files, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.anonymize import synthetic
from videolens.cli import app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIDEOLENS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_directory_of_inputs_with_boxes(faces_dir: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    scene = synthetic.render("short", 160, 120, 25, 1.0, [], seed=5)
    synthetic.write_video(inputs / "clip.mp4", scene)
    shutil.copy(faces_dir / "_test" / "obama1.jpg", inputs / "photo.jpg")
    out, boxes = tmp_path / "out", tmp_path / "boxes"
    result = runner.invoke(
        app, ["anonymize", str(inputs), "-o", str(out), "--boxes-json", str(boxes), "--mode", "blur",
              "--detect-every", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "clip_anonymized.mp4").is_file() and (out / "photo_anonymized.jpg").is_file()
    clip_boxes = json.loads((boxes / "clip.boxes.json").read_text())
    assert len(clip_boxes["frames"]) == 25
    photo_boxes = json.loads((boxes / "photo.boxes.json").read_text())
    assert len(photo_boxes["frames"][0]["faces"]) == 1
    assert "photo.jpg" in result.output and "25 frame(s)" in result.output


def test_not_media_exits_with_code_2(tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video at all")
    result = runner.invoke(app, ["anonymize", str(fake)])
    assert result.exit_code == 2
    assert "not a readable media file" in result.output
    assert not (tmp_path / "holiday_anonymized.mp4").exists()


def test_bad_options_and_unknown_collection_exit_with_code_2(data_dir: Path, faces_dir: Path) -> None:
    photo = str(faces_dir / "_test" / "obama1.jpg")
    result = runner.invoke(app, ["anonymize", photo, "--mode", "smudge"])
    assert result.exit_code == 2 and "mode must be one of" in result.output
    result = runner.invoke(app, ["anonymize", photo, "--detect-every", "often"])
    assert result.exit_code == 2 and "detect every must be" in result.output
    result = runner.invoke(app, ["anonymize", photo, "--spare", "nobody"])
    assert result.exit_code == 2 and "nobody" in result.output


def test_truncated_input_warns_where_it_stopped(hamilton_clip: Path, tmp_path: Path) -> None:
    import subprocess

    full = tmp_path / "full.mkv"
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(hamilton_clip), "-c", "copy", "-t", "3", str(full)]
    subprocess.run(cmd, check=True)
    cut = tmp_path / "cut.mkv"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = runner.invoke(
        app, ["anonymize", str(cut), "-o", str(tmp_path / "out.mkv"), "--detect-every", "8"]
    )
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "input ended early" in result.output
    assert (tmp_path / "out.mkv").is_file()
