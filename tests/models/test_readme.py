"""The README's "Models (bring your own)" commands run as written against a live server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunningServer
from tests.docs.test_readme_examples import against, bash_block_after, cli_env, json_documents, run_bash


def test_models_section(server: RunningServer) -> None:
    r = run_bash(against(server, bash_block_after("## Models (bring your own)")), cli_env(server))
    assert r.returncode == 0, r.stderr
    docs = json_documents(r.stdout.split("┏", 1)[0])  # the curl answers, before the CLI's table
    assert docs[0]["name"] == "people" and docs[0]["kind"] == "builtin"
    assert len(docs[1]["prediction"]) >= 3
    assert docs[2]["name"] == "faces" and docs[2]["kind"] == "onnx"
    faces = json.loads(Path("/tmp/faces.json").read_text())
    assert faces["class_names"] == ["face"] and len(faces["prediction"]) >= 10
    assert json.loads(Path("/tmp/people.json").read_text()) == docs[1]
    assert 'videolens_model_invocations_total{kind="onnx",model="faces"} 1.0' in r.stdout
    assert "people" in r.stdout and "builtin" in r.stdout  # the CLI's table
