"""`videolens jobs ...`: start, follow, list, cancel stored-video jobs; `jobs worker` runs workers here."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from videolens.cli.common import cli_container, console
from videolens.services.jobs.models import Job

if TYPE_CHECKING:
    from videolens.container import Container

jobs_app = typer.Typer(
    help="Stored-video analysis jobs (face detection, face search, anonymization).", no_args_is_help=True
)


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key/with/slashes.mp4` → (bucket, key)."""
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise typer.BadParameter("expected s3://bucket/key")
    bucket, key = url[5:].split("/", 1)
    if not bucket or not key:
        raise typer.BadParameter("expected s3://bucket/key")
    return bucket, key


def _job_doc(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "type": job.job_type,
        "status": job.status,
        "status_message": job.status_message,
        "progress": job.progress,
        "video": f"s3://{job.bucket}/{job.key}",
        "params": job.params,
        "job_tag": job.job_tag,
        "topic_arn": job.topic_arn,
        "video_metadata": job.video_metadata,
        "output": job.output,
        "results": job.result_count,
        "created_at": job.created_at.isoformat(),
        "completed_at": job.completed_at.isoformat() if job.completed_at else None,
        "attempts": job.attempts,
    }


def follow(container: Container, job_id: str, poll_s: float = 0.5) -> Job:
    """Rich progress bar until the job is done (the work happens in a server or a `jobs worker`)."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        job = container.jobs.get(job_id)
        task = bar.add_task(f"{job.job_type} {job_id[:12]}", total=100)
        while True:
            job = container.jobs.get(job_id)
            bar.update(task, completed=job.progress)
            if job.done:
                bar.update(task, completed=100 if job.status == "SUCCEEDED" else job.progress)
                return job
            time.sleep(poll_s)


def _print_outcome(job: Job) -> None:
    colour = {"SUCCEEDED": "green", "FAILED": "red"}.get(job.status, "yellow")
    console.print(
        f"job [bold]{job.job_id}[/] [{colour}]{job.status}[/]"
        + (f": {job.status_message}" if job.status_message else "")
    )
    if job.output:
        console.print_json(json.dumps(job.output))


@jobs_app.command("start")
def start(
    job_type: Annotated[
        str, typer.Argument(help="face-detection, face-search, anonymize (any registered type)")
    ],
    video: Annotated[str, typer.Argument(help="s3://bucket/key of an uploaded video")],
    collection: Annotated[str | None, typer.Option(help="face-search: the collection to search")] = None,
    threshold: Annotated[float | None, typer.Option(help="face-search: minimum similarity 0-100")] = None,
    all_attributes: Annotated[
        bool, typer.Option("--all", help="face-detection: every face attribute")
    ] = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="extra KEY=VALUE job parameter")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="notify this topic (name or ARN) when done")] = None,
    tag: Annotated[str | None, typer.Option(help="job tag echoed in results and notifications")] = None,
    token: Annotated[str | None, typer.Option(help="client request token (idempotency)")] = None,
    follow_job: Annotated[bool, typer.Option("--follow", "-f", help="show progress until it ends")] = False,
    run_here: Annotated[
        bool, typer.Option("--run-here", help="run it in this process (no server needed)")
    ] = False,
) -> None:
    """Queue a job on an uploaded video, e.g. `videolens jobs start face-detection s3://videos/clip.mp4`."""
    bucket, key = parse_s3_url(video)
    # the options are shorthands for parameters; the job type checks what it gets
    params: dict[str, Any] = {}
    if collection is not None:
        params["collection_id"] = collection
    if threshold is not None:
        params["threshold"] = threshold
    if all_attributes:
        params["attributes"] = "ALL"
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--param needs KEY=VALUE, got {item!r}")
        params[name] = _value(value)
    with cli_container() as container:
        topic_arn = None
        if topic:
            topic_arn = container.events.resolve_topic(topic)
        job = container.jobs.start(
            job_type,
            bucket,
            key,
            params=params,
            job_tag=tag,
            topic_arn=topic_arn,
            client_request_token=token,
            api="cli",
        )
        console.print(f"started job [bold]{job.job_id}[/]")
        if run_here:
            with _local_workers(container):
                _print_outcome(follow(container, job.job_id))
        elif follow_job:
            _print_outcome(follow(container, job.job_id))


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@contextmanager
def _local_workers(container: Container) -> Iterator[None]:
    container.start_background()
    try:
        yield
    finally:
        container.stop_background()


@jobs_app.command("get")
def get(
    job_id: str,
    follow_job: Annotated[bool, typer.Option("--follow", "-f", help="progress bar until it ends")] = False,
) -> None:
    """Show a job (status, progress, video metadata, output)."""
    with cli_container() as container:
        job = follow(container, job_id) if follow_job else container.jobs.get(job_id)
        console.print_json(json.dumps(_job_doc(job), default=str))


@jobs_app.command("results")
def results(
    job_id: str,
    sort_by: Annotated[str, typer.Option(help="TIMESTAMP or INDEX")] = "TIMESTAMP",
) -> None:
    """Print every result row of a finished job as JSON lines."""
    with cli_container() as container:
        token: str | None = None
        while True:
            page = container.jobs.results(job_id, 1000, token, sort_by.upper())
            for item in page.items:
                console.print(json.dumps(item), soft_wrap=True, highlight=False)
            token = page.next_token
            if not token:
                break


@jobs_app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="IN_PROGRESS, SUCCEEDED, FAILED or CANCELLED")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
) -> None:
    """List jobs, newest first."""
    with cli_container() as container:
        jobs, _ = container.jobs.list(status.upper() if status else None, None, limit)
    table = Table("job id", "type", "status", "progress", "video", "created")
    for j in jobs:
        table.add_row(
            j.job_id[:16],
            j.job_type,
            j.status,
            f"{j.progress:.0f}%",
            f"s3://{j.bucket}/{j.key}",
            j.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@jobs_app.command("cancel")
def cancel(job_id: str) -> None:
    """Cancel a queued or running job."""
    with cli_container() as container:
        job = container.jobs.cancel(job_id)
    console.print(f"job [bold]{job.job_id}[/] is {job.status}")


@jobs_app.command("worker")
def worker() -> None:
    """Run job workers and the notification dispatcher in this process (scale out: one per machine)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    from videolens.cli.worker_metrics import worker_metrics

    with cli_container() as container, _local_workers(container), worker_metrics(container) as port:
        where = f", metrics on port {port}" if port is not None else ""
        console.print(f"{container.settings.job_workers} job worker(s) running{where}; Ctrl-C to stop")
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
