"""The `videolens jobs / topics / rules` commands, run in-process on a temp data directory."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.anonymize.synthetic import two_people_scene, write_video
from tests.jobs.conftest import TEST_DETECT_EVERY
from videolens.cli import app
from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.vision.models import ModelRegistry


def test_cli_jobs_topics_rules(tmp_path: Path, media_dir: Path, models: ModelRegistry) -> None:
    data = tmp_path / "data"
    env = {
        "VIDEOLENS_DATA_DIR": str(data),
        "VIDEOLENS_JOB_DETECT_EVERY": str(TEST_DETECT_EVERY),
        "VIDEOLENS_LOG_JSON": "false",
        "COLUMNS": "200",
    }
    setup = Container(Settings(data_dir=data), models=models)
    setup.storage.create_bucket("clips")
    video = write_video(tmp_path / "two.mp4", two_people_scene(media_dir))
    setup.storage.put_object_bytes("clips", "in/two.mp4", video.read_bytes())
    setup.close()
    runner = CliRunner(env=env)

    r = runner.invoke(app, ["topics", "create", "done"])
    assert r.exit_code == 0, r.output
    assert "arn:aws:sns:us-east-1:000000000000:done" in r.output
    r = runner.invoke(app, ["topics", "subscribe", "done", "mqtt://127.0.0.1:1883/videolens/cli-test"])
    assert r.exit_code == 0 and '"confirmed": true' in r.output, r.output
    r = runner.invoke(app, ["topics", "list"])
    assert "done" in r.output

    r = runner.invoke(
        app,
        [
            "jobs",
            "start",
            "face-detection",
            "s3://clips/in/two.mp4",
            "--topic",
            "done",
            "--tag",
            "cli",
            "--run-here",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "SUCCEEDED" in r.output
    job_id = r.output.split("started job ", 1)[1].split()[0]
    r = runner.invoke(app, ["jobs", "get", job_id])
    doc = json.loads(r.output)
    assert doc["status"] == "SUCCEEDED" and doc["job_tag"] == "cli" and doc["results"] > 5
    assert doc["video_metadata"]["frame_width"] == 320
    r = runner.invoke(app, ["jobs", "results", job_id])
    rows = [json.loads(line) for line in r.output.splitlines() if line.strip()]
    assert len(rows) == doc["results"]
    assert {row["timestamp_ms"] for row in rows} == set(range(0, 3001, 500))
    r = runner.invoke(app, ["jobs", "list"])
    assert job_id[:16] in r.output and "SUCCEEDED" in r.output

    r = runner.invoke(app, ["jobs", "start", "face-detection", "bad-url"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["jobs", "start", "face-detection", "s3://clips/missing.mp4"])
    assert r.exit_code == 2 and "missing.mp4" in r.output

    r = runner.invoke(
        app,
        [
            "rules",
            "add",
            "clips",
            "anonymize",
            "--prefix",
            "in/",
            "--suffix",
            ".mp4",
            "--topic",
            "done",
            "--id",
            "blur",
            "-p",
            "mode=solid",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["rules", "list"])
    assert "blur" in r.output and "anonymize" in r.output
    r = runner.invoke(app, ["rules", "delete", "blur"])
    assert r.exit_code == 0
    r = runner.invoke(app, ["rules", "delete", "blur"])
    assert r.exit_code == 2
