"""`videolens sightings ...`: where has this face been seen? Search, groups of strangers, enrol a group."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from videolens.cli.common import cli_container, console, fail

sightings_app = typer.Typer(
    help="Face sightings: every face track seen in streams and videos.", no_args_is_help=True
)
SINCE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    m = SINCE.match(value)
    if not m:
        fail(f"--since {value!r}: use a number and a unit, e.g. 90m, 24h, 7d")
    return time.time() - float(m.group(1)) * UNIT[m.group(2)]


@sightings_app.command("search")
def search(
    image: Path,
    stream: Annotated[str | None, typer.Option("--stream", help="only this video stream (ARN)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="only the last 24h, 7d, 90m, ...")] = None,
) -> None:
    """Every appearance of the largest face in IMAGE, newest first."""
    try:
        data = image.read_bytes()
    except OSError as exc:
        fail(f"cannot read {image}: {exc.strerror}")
    with cli_container() as c:
        found = c.sightings.search_image(data, stream, _since(since))
    table = Table("sighting", "source", "from", "to", "similarity")
    for a in found:
        table.add_row(a.sighting_id, a.source, f"{a.start_s:.2f}", f"{a.end_s:.2f}", f"{a.similarity:.1f}")
    console.print(table)


@sightings_app.command("groups")
def groups() -> None:
    """Sightings grouped into people (agglomerative, face-match distance)."""
    with cli_container() as c:
        found = c.sightings.groups()
    table = Table("group", "sightings")
    for g in found:
        table.add_row(g.group_id, str(len(g.sighting_ids)))
    console.print(table)


@sightings_app.command("enrol")
def enrol(
    group: str,
    collection: Annotated[str, typer.Option("--collection", help="the face collection")],
    name: Annotated[str, typer.Option("--name", help="ExternalImageId of the indexed faces")],
) -> None:
    """Index a group's best faces into a collection under one name."""
    with cli_container() as c:
        ids = c.sightings.enrol(group, collection, name)
    console.print(f"indexed {len(ids)} face(s) as {name} in {collection}: {' '.join(ids)}")
