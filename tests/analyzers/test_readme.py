"""The README's "Analyzers" commands run as written against a live server (aws CLI, curl, ffmpeg)."""

from __future__ import annotations

from tests.conftest import RunningServer
from tests.docs.test_readme_examples import against, bash_block_after, cli_env, json_documents, run_bash


def test_analyzers_section(server: RunningServer) -> None:
    script = against(server, bash_block_after("## Analyzers: your model on live video"))
    r = run_bash(script, cli_env(server))
    assert r.returncode == 0, r.stderr
    docs = json_documents(r.stdout.split("┏", 1)[0])
    session = next(d for d in docs if "session_id" in d)
    assert len(session["session_id"]) == 32
    described = next(d for d in docs if d.get("name") == "lobby-people")
    state = described["stream_states"][0]
    assert state["stream"] == "door" and state["lease_owner"] and state["frames_analysed"] >= 2
    record = next(d for d in docs if "fragmentMetaData" in d)
    assert record["streamName"] == "door" and record["analyzer"] == "lobby-people"
    assert record["fragmentMetaData"].startswith("FragmentMetadata(fragmentNumberString=")
    assert record["keyFrame"] is True and "prediction" in record["output"]
    assert "lobby-people" in r.stdout.split("┏", 1)[1]  # the CLI's table
