"""`videolens models ...`: register, list, describe, delete and invoke models on the data directory."""

from __future__ import annotations

import json
import mimetypes
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from videolens.cli.common import cli_container, console, fail

models_app = typer.Typer(
    help="Models (bring your own): ONNX files, HTTP / KServe endpoints, builtin models.", no_args_is_help=True
)


def _json_option(raw: str | None, what: str) -> dict[str, Any]:
    if raw is None:
        return {}
    text = raw
    if raw.startswith("@"):
        try:
            text = Path(raw[1:]).read_text()
        except OSError as exc:
            fail(f"cannot read {raw[1:]}: {exc.strerror}")
    try:
        doc = json.loads(text)
    except ValueError:
        fail(f"{what} is not valid JSON")
    if not isinstance(doc, dict):
        fail(f"{what} must be a JSON object")
    return doc


@models_app.command("create")
def create(
    name: str,
    kind: Annotated[str, typer.Option("--kind", "-k", help="onnx, http, kserve or builtin")],
    url: Annotated[
        str | None, typer.Option(help="http: the invocation URL; kserve: the server's base URL")
    ] = None,
    content_type: Annotated[
        str | None, typer.Option(help="http: how frames are encoded (image/jpeg)")
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="onnx: the .onnx file")] = None,
    spec: Annotated[
        str | None, typer.Option(help="JSON (or @file.json) merged into the config: input, decoder, ...")
    ] = None,
    builtin: Annotated[
        str | None, typer.Option(help="builtin: person-detector, face-detector or face-search")
    ] = None,
    collection: Annotated[str | None, typer.Option(help="builtin face-search: the collection")] = None,
    remote_name: Annotated[str | None, typer.Option(help="kserve: the model's name on the server")] = None,
) -> None:
    """Register a model, e.g. `videolens models create people --kind builtin --builtin person-detector`."""
    config = _json_option(spec, "--spec")
    given = {
        "url": url,
        "content_type": content_type,
        "model": builtin,
        "collection_id": collection,
        "remote_name": remote_name,
    }
    config.update({k: v for k, v in given.items() if v is not None})
    data: bytes | None = None
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror}")
    with cli_container() as c:
        info = c.models_service.create(name, kind, config, data)
    console.print(f"registered model [bold]{info.name}[/] ({info.kind})")


@models_app.command("list")
def list_models() -> None:
    """List the registered models."""
    table = Table("name", "kind", "created", "description")
    token: str | None = None
    with cli_container() as c:
        while True:
            page, token = c.models_service.list(None, token)
            for info in page:
                table.add_row(
                    info.name, info.kind, info.created_at.isoformat(), info.config.get("description", "")
                )
            if not token:
                break
    console.print(table)


@models_app.command("describe")
def describe(name: str) -> None:
    """Show one model's config and what was learnt when it was registered, as JSON."""
    with cli_container() as c:
        info = c.models_service.get(name)
    console.print_json(json.dumps(info.to_dict()))


@models_app.command("delete")
def delete(name: str) -> None:
    """Delete a model (and its stored file)."""
    with cli_container() as c:
        c.models_service.delete(name)
    console.print(f"deleted model [bold]{name}[/]")


@models_app.command("invoke")
def invoke(
    name: str,
    image: Path,
    content_type: Annotated[
        str | None, typer.Option(help="the image's type (default: from its name)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the raw answer here")] = None,
) -> None:
    """Run a model on an image file and print its answer (JSON answers pretty-printed)."""
    from videolens.services.models.models import ModelInput

    try:
        data = image.read_bytes()
    except OSError as exc:
        fail(f"cannot read {image}: {exc.strerror}")
    kind = content_type or mimetypes.guess_type(image.name)[0] or "application/octet-stream"
    with cli_container() as c:
        answer = c.models_service.invoke(name, ModelInput.from_bytes(data, kind, c.settings.max_image_pixels))
    if out is not None:
        out.write_bytes(answer.body)
        console.print(f"wrote {len(answer.body)} bytes ({answer.content_type}) to {out}")
    elif answer.json is not None:
        console.print_json(json.dumps(answer.json))
    else:
        sys.stdout.buffer.write(answer.body)
