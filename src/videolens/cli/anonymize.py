"""The `videolens anonymize` command: hide faces in videos and images (deface's vocabulary)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from videolens.cli.common import console, err_console, fail

MEDIA_SUFFIXES = (
    ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".ts", ".mts", ".flv", ".mpg", ".mpeg",
    ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff",
)  # fmt: skip


class FpsColumn(ProgressColumn):
    """Frames per second of the task (rich's own speed estimate)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:6.1f} fps" if speed else "   ... fps", style="progress.data.speed")


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given; directories expanded to the media files inside (recursively, sorted)."""
    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES and "_anonymized" not in p.stem
            )
            files.extend(found)
        else:
            files.append(path)
    return files


def output_for(src: Path, output: Path | None, several: bool) -> Path:
    if output is None:
        return src.with_name(f"{src.stem}_anonymized{src.suffix}")
    if several or output.is_dir() or not output.suffix:
        return output / f"{src.stem}_anonymized{src.suffix}"
    return output


def boxes_for(src: Path, boxes_json: Path | None, several: bool) -> Path | None:
    if boxes_json is None:
        return None
    if several or boxes_json.is_dir():
        return boxes_json / f"{src.stem}.boxes.json"
    return boxes_json


def anonymize_command(
    inputs: Annotated[
        list[Path], typer.Argument(help="video / image files or directories", show_default=False)
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="output file (one input) or directory (several inputs)"),
    ] = None,
    mode: Annotated[str, typer.Option(help="pixelate | blur | solid | none")] = "pixelate",
    mosaic_size: Annotated[int, typer.Option("--mosaic-size", help="mosaic cells across a face")] = 10,
    shape: Annotated[str, typer.Option(help="ellipse | box")] = "ellipse",
    mask_scale: Annotated[
        float, typer.Option("--mask-scale", help="grow each face box by this factor")
    ] = 1.3,
    color: Annotated[str, typer.Option(help="solid mode colour, '#rrggbb' or 'r,g,b'")] = "#000000",
    thresh: Annotated[
        float, typer.Option("--thresh", help="detection threshold 0..1 (lower hides more)")
    ] = 0.2,
    detect_every: Annotated[
        str, typer.Option("--detect-every", help="run the detector every N frames, or 'auto'")
    ] = "auto",
    detect_size: Annotated[
        int, typer.Option("--detect-size", help="longer side frames are shrunk to for detection")
    ] = 960,
    spare: Annotated[str | None, typer.Option(help="faces collection whose people stay visible")] = None,
    spare_threshold: Annotated[
        float, typer.Option("--spare-threshold", help="similarity 0..100 needed to spare a face")
    ] = 80.0,
    boxes_json: Annotated[
        Path | None,
        typer.Option(
            "--boxes-json", help="write per-frame boxes + track ids (a directory for several inputs)"
        ),
    ] = None,
    codec: Annotated[str | None, typer.Option(help="video encoder (default libx264; VP9 for .webm)")] = None,
    crf: Annotated[int, typer.Option(help="encoder quality (lower = better)")] = 20,
    preset: Annotated[str, typer.Option(help="encoder preset (x264: ultrafast … veryslow)")] = "veryfast",
    threads: Annotated[int, typer.Option(help="encoder threads (0 = automatic)")] = 0,
) -> None:
    """Hide the faces in videos and images: mosaic, blur or solid fill, audio and metadata kept."""
    from videolens.services.anonymize.options import AnonymizeOptions, parse_color, parse_detect_every
    from videolens.services.anonymize.service import AnonymizeService
    from videolens.services.anonymize.sparing import SpareMatcher
    from videolens.services.errors import VideolensError

    files = expand_inputs(inputs)
    if not files:
        fail("no media files among the inputs")
    several = len(files) > 1 or any(p.is_dir() for p in inputs)
    for target in (output, boxes_json):
        if target is not None and several:
            target.mkdir(parents=True, exist_ok=True)
    try:
        options = AnonymizeOptions(
            mode=mode,  # type: ignore[arg-type]
            shape=shape,  # type: ignore[arg-type]
            mask_scale=mask_scale,
            mosaic_size=mosaic_size,
            color=parse_color(color),
            threshold=thresh,
            detect_every=parse_detect_every(detect_every),
            detect_max_side=detect_size,
            spare_collection=spare,
            spare_threshold=spare_threshold,
            codec=codec,
            crf=crf,
            preset=preset,
            threads=threads,
        )
    except VideolensError as exc:
        fail(exc.message)
    container = None
    matcher: SpareMatcher | None = None
    if spare is not None:
        from videolens.container import Container
        from videolens.runtime.settings import Settings
        from videolens.services.anonymize.collection_matcher import CollectionMatcher

        container = Container(Settings())
        try:
            matcher = CollectionMatcher(container.faces, spare)
        except VideolensError as exc:
            container.close()
            fail(exc.message)
    service = AnonymizeService(embedder_factory=(lambda: container.models.embedder) if container else None)
    failed = 0
    try:
        for src in files:
            failed += _run_one(
                service,
                src,
                output_for(src, output, several),
                boxes_for(src, boxes_json, several),
                options,
                matcher,
            )
    finally:
        if container is not None:
            container.close()
    if failed:
        raise typer.Exit(2)


def _run_one(service, src, dst, boxes, options, matcher) -> int:  # type: ignore[no-untyped-def]
    """Anonymize one file with a progress bar; returns 1 when it failed on bad input."""
    from videolens.services.errors import VideolensError

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        FpsColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(src.name, total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = service.anonymize_file(
                src, dst, options, matcher=matcher, boxes_json=boxes, progress=progress
            )
        except VideolensError as exc:
            bar.stop()
            message = exc.message.removeprefix(f"{src.name}: ")
            err_console.print(f"[bold red]error:[/] {src}: {message}", soft_wrap=True)
            return 1
        bar.update(task, completed=result.frames, total=result.frames)
    if result.warning:
        err_console.print(f"[bold yellow]warning:[/] {src}: {result.warning}", soft_wrap=True)
    spared = f", {result.spared} spared" if matcher is not None else ""
    console.print(
        f"{src} → {result.output}: {result.frames} frame(s), {result.faces} face track(s){spared}, "
        f"{result.fps:.1f} fps",
        soft_wrap=True,
    )
    return 0
