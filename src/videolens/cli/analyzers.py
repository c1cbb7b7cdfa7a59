"""`videolens analyzers ...`: define, start, stop, show and delete analyzers on the data directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from videolens.cli.common import cli_container, console, fail

analyzers_app = typer.Typer(
    help="Analyzers: run a registered model on live video streams, records to a data stream.",
    no_args_is_help=True,
)


def _tag(raw: str) -> dict[str, str]:
    key, sep, value = raw.partition("=")
    if not sep or not key:
        fail(f"--tag wants KEY=VALUE, got {raw!r}")
    return {"key": key, "value": value}


@analyzers_app.command("create")
def create(
    name: str,
    model: Annotated[str, typer.Option("--model", "-m", help="a registered model (videolens models list)")],
    output: Annotated[str, typer.Option("--output", "-o", help="the data stream the records go to")],
    stream: Annotated[
        list[str] | None, typer.Option("--stream", "-s", help="a video stream (repeat)")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", help="KEY=VALUE: streams carrying it join (repeat: AND)"),
    ] = None,
    every_n_frames: Annotated[int | None, typer.Option(help="sample every Nth decoded frame")] = None,
    fps: Annotated[float | None, typer.Option(help="sample this many frames per second")] = None,
    max_in_flight: Annotated[int, typer.Option(help="model calls in flight per stream")] = 20,
    timeout_ms: Annotated[int, typer.Option(help="a model call's time limit")] = 20_000,
    lag_policy: Annotated[
        str, typer.Option(help="catch-up (wait for the model) or live (drop frames)")
    ] = "catch-up",
    definition: Annotated[
        Path | None, typer.Option("--definition", help="a JSON file with the whole definition instead")
    ] = None,
) -> None:
    """Define an analyzer, e.g. `videolens analyzers create people -m hog -o detections -s cam1 --fps 2`."""
    if definition is not None:
        try:
            doc: Any = json.loads(definition.read_text())
        except (OSError, ValueError) as exc:
            fail(f"cannot read the definition {definition}: {exc}")
        if not isinstance(doc, dict):
            fail("the definition must be a JSON object")
        doc.setdefault("name", name)
    else:
        sampling: dict[str, Any] = {"key_frames": True}
        if every_n_frames is not None:
            sampling = {"every_n_frames": every_n_frames}
        elif fps is not None:
            sampling = {"fps": fps}
        doc = {
            "name": name,
            "model": model,
            "streams": list(stream or []),
            "tag_filters": [_tag(t) for t in tag or []],
            "sampling": sampling,
            "output": {"data_stream": output},
            "max_in_flight": max_in_flight,
            "timeout_ms": timeout_ms,
            "lag_policy": lag_policy,
        }
    with cli_container() as c:
        info = c.analyzers.create(doc)
    console.print(f"created analyzer [bold]{info.name}[/] (model {info.spec.model})")


@analyzers_app.command("list")
def list_analyzers() -> None:
    """Every analyzer with its status and streams."""
    with cli_container() as c:
        page, token = c.analyzers.list_analyzers()
        while token:
            more, token = c.analyzers.list_analyzers(next_token=token)
            page += more
    table = Table("name", "model", "status", "streams", "frames analysed", "errors")
    for a in page:
        table.add_row(
            a.name,
            a.spec.model,
            a.status,
            str(len(a.streams)),
            str(sum(s.frames_analysed for s in a.streams)),
            str(sum(s.errors for s in a.streams)),
        )
    console.print(table)


@analyzers_app.command("describe")
def describe(name: str) -> None:
    """The analyzer's definition and per-stream state, as JSON (what GET /v1/analyzers/{name} returns)."""
    with cli_container() as c:
        info = c.analyzers.describe(name)
    console.print_json(json.dumps(info.to_dict()))


@analyzers_app.command("start")
def start(
    name: str,
    oldest: Annotated[
        bool, typer.Option("--oldest", help="from each stream's first stored fragment")
    ] = False,
) -> None:
    """Start it: workers (`videolens serve`, `videolens jobs worker`) take its streams' leases."""
    with cli_container() as c:
        console.print(c.analyzers.start(name, "oldest" if oldest else "now"))


@analyzers_app.command("stop")
def stop(name: str) -> None:
    with cli_container() as c:
        c.analyzers.stop(name)
    console.print(f"stopping analyzer [bold]{name}[/]")


@analyzers_app.command("delete")
def delete(name: str) -> None:
    with cli_container() as c:
        c.analyzers.delete(name)
    console.print(f"deleted analyzer [bold]{name}[/]")
