"""The live engine's view of analyzers: one unit of work per (analyzer, stream), named `analyzer:<a>:<s>`.

The engine (services/live/engine.py) asks a work source for runnable units, takes the lease
`stream-processor/analyzer:<a>:<s>` of each, and reports back through `mark` / `add_counts`; this module
is that source for analyzers (the stream processors' is ProcessorsService), over the analyzer_streams rows.

`runnable()` also refreshes tag filters, at most every `analyzer_refresh_seconds`: a stream created or
tagged later that matches a running analyzer gets its unit then, and a worker takes it on its next pass,
so it joins within analyzer_refresh_seconds + processor_poll_seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from videolens.backends.leases import LeaseStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.analyzers import AnalyzerRow, AnalyzerStreamRow
from videolens.runtime.settings import Settings
from videolens.services.analyzers.models import AnalyzerSpec
from videolens.services.errors import NotFoundError
from videolens.services.live.models import ProcessorInfo
from videolens.services.live.registry import ProcessorKinds
from videolens.services.live.service import lease_key
from videolens.services.streams.service import StreamsService

log = logging.getLogger(__name__)
KIND = "analyzer"


def unit_name(analyzer: str, stream: str) -> str:
    return f"{KIND}:{analyzer}:{stream}"


def split_unit(name: str) -> tuple[str, str]:
    _, analyzer, stream = name.split(":", 2)
    return analyzer, stream


def unit_lease(analyzer: str, stream: str) -> str:
    return lease_key(unit_name(analyzer, stream))


def now() -> datetime:
    return datetime.now(UTC)


class AnalyzerUnits:
    """The work source the analyzers' LiveEngine runs (same methods as ProcessorsService's engine side)."""

    def __init__(self, settings: Settings, db: Database, streams: StreamsService, leases: LeaseStore) -> None:
        self.settings = settings
        self.db = db
        self.streams = streams
        self.leases = leases
        self.kinds = ProcessorKinds()
        self._refreshed = 0.0
        self._refresh_lock = threading.Lock()
        #: (unit, session) -> the frame counts of the fragment being checkpointed (one per unit at a time)
        self._staged: dict[tuple[str, str], dict[str, Any]] = {}

    # -- what the engine calls ----------------------------------------------------------------------
    def runnable(self) -> list[ProcessorInfo]:
        if time.monotonic() - self._refreshed >= self.settings.analyzer_refresh_seconds:
            with self._refresh_lock:
                self._refreshed = time.monotonic()
                try:
                    self.refresh_tags()
                except Exception:  # a refresh failing must not stop the running units
                    log.exception("analyzer tag refresh failed")
        with self.db.session() as s:
            rows = list(s.scalars(select(AnalyzerStreamRow).where(AnalyzerStreamRow.desired == "RUNNING")))
            specs = {a.name: a for a in s.scalars(select(AnalyzerRow))}
        return [self._info(r, specs[r.analyzer]) for r in rows if r.analyzer in specs]

    def stopping(self) -> list[str]:
        with self.db.session() as s:
            rows = s.execute(
                select(AnalyzerStreamRow.analyzer, AnalyzerStreamRow.stream).where(
                    AnalyzerStreamRow.status == "STOPPING"
                )
            )
            return [unit_name(a, st) for a, st in rows]

    def describe(self, name: str) -> ProcessorInfo:
        analyzer, stream = split_unit(name)
        with self.db.session() as s:
            row = s.get(AnalyzerStreamRow, (analyzer, stream))
            spec = s.get(AnalyzerRow, analyzer)
            if row is None or spec is None:
                raise NotFoundError(f"analyzer {analyzer} has no stream {stream}")
            return self._info(row, spec)

    def mark(self, name: str, session: str | None, **values: Any) -> bool:
        analyzer, stream = split_unit(name)
        values["updated_at"] = now()
        with self.db.session() as s:
            query = update(AnalyzerStreamRow).where(
                AnalyzerStreamRow.analyzer == analyzer, AnalyzerStreamRow.stream == stream
            )
            if session is not None:
                query = query.where(AnalyzerStreamRow.session_id == session)
            result: Any = s.execute(query.values(**values))
            s.commit()
            return bool(result.rowcount)

    def requeue(self, name: str, session: str) -> None:
        """A worker let a running unit go without a Stop (shutdown): STARTING until the next takes it."""
        analyzer, stream = split_unit(name)
        with self.db.session() as s:
            s.execute(
                update(AnalyzerStreamRow)
                .where(
                    AnalyzerStreamRow.analyzer == analyzer,
                    AnalyzerStreamRow.stream == stream,
                    AnalyzerStreamRow.session_id == session,
                    AnalyzerStreamRow.status == "RUNNING",
                )
                .values(status="STARTING", updated_at=now())
            )
            s.commit()

    def prune_worker_heartbeats(self, older_than_s: float = 3600.0) -> int:
        """The processors' engine prunes the shared heartbeat rows; nothing of the analyzers' own."""
        return 0

    def add_counts(self, name: str, session: str, *, done: int, skipped: int, records: int, lag: int) -> None:
        """The engine's per-fragment counts, written with the frame counts the session staged: one UPDATE."""
        analyzer, stream = split_unit(name)
        staged = self._staged.pop((name, session), None) or {}
        r = AnalyzerStreamRow
        values: dict[str, Any] = {
            "fragments_done": r.fragments_done + done,
            "fragments_skipped": r.fragments_skipped + skipped,
            "records_out": r.records_out + records,
            "lag_fragments": lag,
        }
        if staged:
            values.update(
                frames_analysed=r.frames_analysed + staged["analysed"],
                frames_skipped=r.frames_skipped + staged["skipped"],
                errors=r.errors + staged["errors"],
                lag_ms=staged["lag_ms"],
                last_fragment=staged["fragment"],
            )
            if staged["last_error"] is not None:
                values["last_error"] = str(staged["last_error"])[:2000]
        with self.db.session() as s:
            s.execute(
                update(r)
                .where(r.analyzer == analyzer, r.stream == stream, r.session_id == session)
                .values(**values)
            )
            s.commit()

    # -- what the analyzer sessions call --------------------------------------------------------------
    def stage_frames(
        self,
        name: str,
        session: str,
        *,
        analysed: int,
        skipped: int,
        errors: int,
        lag_ms: float,
        fragment: str,
        last_error: str | None,
    ) -> None:
        """A fragment's frame counts, written by the engine's add_counts right after its checkpoint."""
        self._staged[(name, session)] = {
            "analysed": analysed,
            "skipped": skipped,
            "errors": errors,
            "lag_ms": lag_ms,
            "fragment": fragment,
            "last_error": last_error,
        }

    # -- units ----------------------------------------------------------------------------------------
    def add_unit(
        self, analyzer: str, stream: str, stream_arn: str, session: str, start_after: str | None
    ) -> bool:
        """A new unit, STARTING; False when it exists already (another worker's refresh made it)."""
        t = now()
        try:
            with self.db.session() as s:
                s.add(
                    AnalyzerStreamRow(
                        analyzer=analyzer,
                        stream=stream,
                        stream_arn=stream_arn,
                        status="STARTING",
                        desired="RUNNING",
                        session_id=session,
                        start_after=start_after,
                        fragments_done=0,
                        fragments_skipped=0,
                        records_out=0,
                        lag_fragments=0,
                        frames_analysed=0,
                        frames_skipped=0,
                        errors=0,
                        lag_ms=0.0,
                        created_at=t,
                        updated_at=t,
                    )
                )
                s.commit()
        except IntegrityError:
            return False
        return True

    def start_position(self, stream_arn: str) -> str | None:
        """After the newest fragment (analysis starts at live), or None: from the stream's first."""
        latest = self.streams.latest_fragment(arn=stream_arn)
        return None if latest is None else "after:" + latest.fragment_number

    def refresh_tags(self) -> int:
        """A unit for each stream that matches a running analyzer's tag filters and lacks one; how many."""
        with self.db.session() as s:
            running = [
                (a.name, a.session_id or "", AnalyzerSpec.model_validate(a.definition["spec"]))
                for a in s.scalars(select(AnalyzerRow).where(AnalyzerRow.desired == "RUNNING"))
            ]
            have = {(u.analyzer, u.stream) for u in s.scalars(select(AnalyzerStreamRow))}
        filtered = [r for r in running if r[2].tag_filters]
        if not filtered:
            return 0
        added = 0
        token: str | None = None
        while True:
            page, token = self.streams.catalog.list_page(max_results=500, next_token=token)
            for stream in page:
                for name, session, spec in filtered:
                    if (name, stream.name) in have or not spec.matches(stream.tags):
                        continue
                    if self.add_unit(name, stream.name, stream.arn, session, self.start_position(stream.arn)):
                        log.info("stream %s joins analyzer %s (tag filters)", stream.name, name)
                        added += 1
            if token is None:
                return added

    def _info(self, row: AnalyzerStreamRow, analyzer: AnalyzerRow) -> ProcessorInfo:
        spec = dict(analyzer.definition["spec"])
        return ProcessorInfo(
            name=unit_name(row.analyzer, row.stream),
            arn=f"videolens:analyzer/{row.analyzer}/stream/{row.stream}",
            kind=KIND,
            input_arn=row.stream_arn,
            definition={
                "Analyzer": spec,
                "Stream": row.stream,
                "Output": {"KinesisDataStream": {"Arn": analyzer.definition["output_arn"]}},
            },
            status=row.status,  # type: ignore[arg-type]
            status_message=row.status_message,
            desired=row.desired,
            lag_policy=spec.get("lag_policy", "catch-up"),
            session_id=row.session_id,
            start_after=row.start_after,
            created_at=row.created_at,
            updated_at=row.updated_at,
            fragments_done=row.fragments_done,
            fragments_skipped=row.fragments_skipped,
            records_out=row.records_out,
            lag_fragments=row.lag_fragments,
        )
