"""The `videolens` command line: the root app and one registration line per command group.

Each group lives in its own module (`cli/<group>.py`, a `typer.Typer()`); the shared plumbing (consoles,
the container of the data directory, error exits) is in `cli/common.py`. Group modules import services
lazily inside their commands so `videolens --help` stays fast.
"""

from __future__ import annotations

import typer

from videolens.cli import (
    analyzers,
    anonymize,
    channels,
    datastreams,
    events,
    faces,
    jobs,
    keys,
    models,
    processors,
    serve,
    sightings,
    streams,
    tokens,
    worker,
)

app = typer.Typer(help="videolens: self-hosted video analytics server.", no_args_is_help=True)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.add_typer(faces.collections_app, name="collections")
app.add_typer(faces.faces_app, name="faces")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(tokens.tokens_app, name="tokens")
app.add_typer(streams.streams_app, name="streams")
app.add_typer(channels.channels_app, name="channels")
app.add_typer(datastreams.app, name="datastreams")
app.add_typer(jobs.jobs_app, name="jobs")
app.add_typer(events.topics_app, name="topics")
app.add_typer(events.rules_app, name="rules")
app.add_typer(models.models_app, name="models")
app.add_typer(analyzers.analyzers_app, name="analyzers")
app.add_typer(processors.processors_app, name="processors")
app.add_typer(sightings.sightings_app, name="sightings")
app.command("anonymize")(anonymize.anonymize_command)


def main() -> None:
    app()
