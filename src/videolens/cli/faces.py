"""CLI groups `collections` and `faces`: face collections, detect, index, search and compare faces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from videolens.cli.common import cli_container, console, fail

collections_app = typer.Typer(help="Face collections.", no_args_is_help=True)
faces_app = typer.Typer(help="Detect, index and search faces.", no_args_is_help=True)


def print_json(doc: object) -> None:
    console.print_json(json.dumps(doc, default=str))


def read_image(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", 2)


@collections_app.command("create")
def collections_create(collection_id: str) -> None:
    """Create a face collection."""
    with cli_container() as c:
        coll = c.faces.create_collection(collection_id)
    console.print(f"created collection [bold]{coll.collection_id}[/]")


@collections_app.command("list")
def collections_list() -> None:
    """List face collections with their face counts."""
    table = Table("collection", "faces", "created")
    token: str | None = None
    with cli_container() as c:
        while True:
            page, token = c.faces.list_collections(None, token)
            for coll in page:
                table.add_row(coll.collection_id, str(coll.face_count), coll.created_at.isoformat())
            if not token:
                break
    console.print(table)


@collections_app.command("describe")
def collections_describe(collection_id: str) -> None:
    """Show one collection."""
    with cli_container() as c:
        coll = c.faces.describe_collection(collection_id)
    print_json(
        {
            "collection_id": coll.collection_id,
            "face_count": coll.face_count,
            "created_at": coll.created_at.isoformat(),
            "face_model_version": coll.face_model_version,
        }
    )


@collections_app.command("delete")
def collections_delete(collection_id: str) -> None:
    """Delete a collection and all its faces."""
    with cli_container() as c:
        c.faces.delete_collection(collection_id)
    console.print(f"deleted collection [bold]{collection_id}[/]")


@faces_app.command("detect")
def faces_detect(
    image: Path,
    all_attributes: Annotated[
        bool, typer.Option("--all", help="also 68-point landmarks, eyes/mouth open")
    ] = False,
) -> None:
    """Detect faces in an image and print them as JSON."""
    from dataclasses import asdict

    data = read_image(image)
    with cli_container() as c:
        result = c.faces.detect_faces(data, "ALL" if all_attributes else "DEFAULT")
    print_json(asdict(result))


@faces_app.command("index")
def faces_index(
    collection_id: str,
    images: list[Path],
    external_id: Annotated[str | None, typer.Option("--external-id", help="external image id")] = None,
    max_faces: Annotated[int | None, typer.Option(help="keep at most N faces, largest first")] = None,
    quality_filter: Annotated[str, typer.Option(help="NONE, AUTO, LOW, MEDIUM or HIGH")] = "AUTO",
) -> None:
    """Index the faces of one or more images into a collection."""
    table = Table("image", "face id", "confidence", "unindexed")
    with cli_container() as c:
        for path in images:
            result = c.faces.index_faces(
                collection_id,
                read_image(path),
                external_id,
                max_faces,
                quality_filter.upper(),  # type: ignore[arg-type]
            )
            for rec in result.records:
                table.add_row(path.name, rec.face.face_id, f"{rec.face.confidence:.1f}", "")
            for un in result.unindexed:
                table.add_row(path.name, "-", f"{un.detail.confidence:.1f}", ",".join(un.reasons))
    console.print(table)


@faces_app.command("list")
def faces_list(collection_id: str) -> None:
    """List the faces of a collection."""
    table = Table("face id", "external id", "image id")
    token: str | None = None
    with cli_container() as c:
        while True:
            page, token = c.faces.list_faces(collection_id, None, token)
            for f in page:
                table.add_row(f.face_id, f.external_image_id or "", f.image_id)
            if not token:
                break
    console.print(table)


@faces_app.command("delete")
def faces_delete(collection_id: str, face_ids: list[str]) -> None:
    """Delete faces from a collection."""
    with cli_container() as c:
        result = c.faces.delete_faces(collection_id, face_ids)
    console.print(f"deleted {len(result.deleted)}; not found: {[u.face_id for u in result.unsuccessful]}")


@faces_app.command("search")
def faces_search(
    collection_id: str,
    image: Path,
    threshold: Annotated[float | None, typer.Option(help="minimum similarity 0-100 (default 80)")] = None,
    max_matches: Annotated[int, typer.Option(help="matches per face")] = 1,
) -> None:
    """Recognise every face of an image against a collection."""
    with cli_container() as c:
        faces = c.faces.recognize_faces(collection_id, read_image(image), max_matches, threshold)
    table = Table("face (left,top,w,h)", "match", "similarity", "face id")
    for rf in faces:
        b = rf.face.bounding_box
        box = f"{b.left:.2f},{b.top:.2f},{b.width:.2f},{b.height:.2f}"
        if not rf.matches:
            table.add_row(box, "[dim]no match[/]", "", "")
        for m in rf.matches:
            table.add_row(box, m.face.external_image_id or "", f"{m.similarity:.1f}", m.face.face_id)
    console.print(table)


@faces_app.command("compare")
def faces_compare(
    source: Path,
    target: Path,
    threshold: Annotated[float | None, typer.Option(help="minimum similarity 0-100 (default 80)")] = None,
) -> None:
    """Compare the largest face of SOURCE with every face of TARGET."""
    with cli_container() as c:
        result = c.faces.compare_faces(read_image(source), read_image(target), threshold)
    console.print(
        f"matched: {[round(m.similarity, 1) for m in result.matches]}; unmatched: {len(result.unmatched)}"
    )
