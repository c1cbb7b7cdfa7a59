"""`videolens models ...` on the data directory: create, list, describe, invoke, delete, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.models.test_onnx_kind import CENTERFACE_SPEC
from videolens.cli import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("VIDEOLENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIDEOLENS_LOG_JSON", "false")
    return CliRunner()


def test_models_cli_round_trip(
    cli: CliRunner, tmp_path: Path, media_dir: Path, centerface_onnx: bytes
) -> None:
    city = media_dir / "faces" / "_test" / "city.jpg"
    result = cli.invoke(
        app, ["models", "create", "people", "--kind", "builtin", "--builtin", "person-detector"]
    )
    assert result.exit_code == 0, result.output
    onnx_file = tmp_path / "centerface.onnx"
    onnx_file.write_bytes(centerface_onnx)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(CENTERFACE_SPEC))
    result = cli.invoke(
        app, ["models", "create", "cf", "--kind", "onnx", "--file", str(onnx_file), "--spec", f"@{spec_file}"]
    )
    assert result.exit_code == 0, result.output
    listed = cli.invoke(app, ["models", "list"])
    assert "people" in listed.output and "cf" in listed.output and "onnx" in listed.output
    described = json.loads(cli.invoke(app, ["models", "describe", "cf"]).output)
    assert described["kind"] == "onnx" and described["file_size"] == len(centerface_onnx)
    out = tmp_path / "answer.json"
    result = cli.invoke(app, ["models", "invoke", "people", str(city), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_bytes())["prediction"]) >= 3
    printed = cli.invoke(app, ["models", "invoke", "cf", str(city)])
    assert printed.exit_code == 0 and len(json.loads(printed.output)["prediction"]) >= 10
    assert cli.invoke(app, ["models", "delete", "cf"]).exit_code == 0
    assert "cf" not in cli.invoke(app, ["models", "list"]).output


def test_models_cli_bad_input_exits_2_with_a_message(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["models", "invoke", "ghost", str(tmp_path / "missing.jpg")])
    assert result.exit_code == 2 and "cannot read" in result.output
    image = tmp_path / "x.jpg"
    image.write_bytes(b"not a jpeg")
    result = cli.invoke(app, ["models", "invoke", "ghost", str(image)])
    assert result.exit_code == 2 and "model ghost not found" in result.output
    result = cli.invoke(app, ["models", "create", "x", "--kind", "http", "--url", "not a url"])
    assert result.exit_code == 2 and "invalid http model: url" in result.output
    result = cli.invoke(app, ["models", "create", "x", "--kind", "onnx", "--spec", "{oops"])
    assert result.exit_code == 2 and "--spec is not valid JSON" in result.output
    result = cli.invoke(app, ["models", "create", "x", "--kind", "magic"])
    assert result.exit_code == 2 and "unknown model kind 'magic'" in result.output
    cli.invoke(app, ["models", "create", "p", "--kind", "builtin", "--builtin", "person-detector"])
    result = cli.invoke(app, ["models", "invoke", "p", str(image)])
    assert result.exit_code == 2 and "not an image" in result.output
