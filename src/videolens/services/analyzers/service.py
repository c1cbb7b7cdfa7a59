"""AnalyzersService: analyzer definitions, start/stop, per-stream state; the live engine runs the units.

Statuses: Create → STOPPED; Start → RUNNING (one unit per stream, each STARTING until a worker holds its
lease `stream-processor/analyzer:<name>:<stream>`); Stop → STOPPED (units STOPPING while a worker still
holds them). Delete and re-definition need a stopped analyzer. An analyzer's status is RUNNING while a
start is in force; each stream's own status, lease owner, checkpoint and counters are in `streams`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update

from videolens.backends.leases import LeaseStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.analyzers import AnalyzerRow, AnalyzerStreamRow
from videolens.runtime.settings import Settings
from videolens.services.analyzers.errors import AnalyzerInUseError, AnalyzerNotFoundError
from videolens.services.analyzers.models import AnalyzerInfo, AnalyzerSpec, StreamState
from videolens.services.analyzers.session import AnalyzerKind
from videolens.services.analyzers.units import AnalyzerUnits, now, unit_lease
from videolens.services.datastreams.service import DataStreamsService
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.models.service import ModelsService
from videolens.services.pagination import decode_token, encode_token
from videolens.services.streams.service import StreamsService


class AnalyzersService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        streams: StreamsService,
        datastreams: DataStreamsService,
        models: ModelsService,
        leases: LeaseStore,
    ) -> None:
        self.settings = settings
        self.db = db
        self.streams = streams
        self.datastreams = datastreams
        self.models = models
        self.leases = leases
        #: the live engine's work source (container.py builds the analyzers' LiveEngine over it)
        self.units = AnalyzerUnits(settings, db, streams, leases)
        self.units.kinds.register(AnalyzerKind(models, self.units))

    # -- definitions ----------------------------------------------------------------------------------
    def create(self, doc: Any) -> AnalyzerInfo:
        spec = AnalyzerSpec.parse(doc)
        self.models.get(spec.model)  # ModelNotFound for a model that is not registered
        for stream in spec.streams:
            try:
                self.streams.describe_stream(name=stream)
            except NotFoundError as exc:
                raise InvalidParameterError(f"video stream {stream} does not exist") from exc
        try:
            output_arn = self.datastreams.describe_stream_summary(name=spec.output.data_stream).arn
        except NotFoundError as exc:
            raise InvalidParameterError(f"data stream {spec.output.data_stream} does not exist") from exc
        with self.db.session() as s:
            if s.get(AnalyzerRow, spec.name) is not None:
                raise AnalyzerInUseError(f"analyzer {spec.name} already exists")
            t = now()
            s.add(
                AnalyzerRow(
                    name=spec.name,
                    definition={"spec": spec.model_dump(mode="json"), "output_arn": output_arn},
                    desired="STOPPED",
                    created_at=t,
                    updated_at=t,
                )
            )
            s.commit()
        return self.describe(spec.name)

    def describe(self, name: str) -> AnalyzerInfo:
        with self.db.session() as s:
            row = s.get(AnalyzerRow, name) if len(name or "") <= 64 else None
            if row is None:
                raise AnalyzerNotFoundError(f"analyzer {name} not found")
            units = list(
                s.scalars(
                    select(AnalyzerStreamRow)
                    .where(AnalyzerStreamRow.analyzer == name)
                    .order_by(AnalyzerStreamRow.stream)
                )
            )
            return self._info(row, units)

    def list_analyzers(
        self, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[AnalyzerInfo], str | None]:
        limit = max(1, min(int(max_results or 100), 1000))
        after = str(decode_token("analyzers", next_token)["after"]) if next_token else None
        with self.db.session() as s:
            query = select(AnalyzerRow.name).order_by(AnalyzerRow.name).limit(limit + 1)
            if after is not None:
                query = query.where(AnalyzerRow.name > after)
            names = list(s.scalars(query))
        page = [self.describe(n) for n in names[:limit]]
        token = encode_token("analyzers", {"after": page[-1].name}) if len(names) > limit else None
        return page, token

    def delete(self, name: str) -> None:
        info = self.describe(name)
        if info.status == "RUNNING" or any(
            u.status in ("STARTING", "RUNNING", "STOPPING") for u in info.streams
        ):
            raise AnalyzerInUseError(f"analyzer {name} is running; stop it first")
        with self.db.session() as s:
            s.execute(delete(AnalyzerStreamRow).where(AnalyzerStreamRow.analyzer == name))
            s.execute(delete(AnalyzerRow).where(AnalyzerRow.name == name))
            s.commit()

    # -- transitions ----------------------------------------------------------------------------------
    def start(self, name: str, position: str = "now") -> str:
        """A new session: every named stream gets its unit now, tag-matched ones on the next refresh.

        `position`: "now" starts after each stream's newest fragment (live), "oldest" at its first
        stored fragment (a backlog); streams joining later by tag always start at "now"."""
        if position not in ("now", "oldest"):
            raise InvalidParameterError("position must be now or oldest")
        info = self.describe(name)
        if info.status == "RUNNING":
            raise AnalyzerInUseError(f"analyzer {name} is already running")
        if any(u.status == "STOPPING" for u in info.streams):
            raise AnalyzerInUseError(f"analyzer {name} is still stopping")
        session = uuid.uuid4().hex
        with self.db.session() as s:
            s.execute(delete(AnalyzerStreamRow).where(AnalyzerStreamRow.analyzer == name))
            s.execute(
                update(AnalyzerRow)
                .where(AnalyzerRow.name == name)
                .values(desired="RUNNING", session_id=session, updated_at=now())
            )
            s.commit()
        for stream in info.spec.streams:
            try:
                arn = self.streams.describe_stream(name=stream).arn
            except NotFoundError as exc:
                raise InvalidParameterError(f"video stream {stream} does not exist") from exc
            after = self.units.start_position(arn) if position == "now" else None
            self.units.add_unit(name, stream, arn, session, after)
        if info.spec.tag_filters:
            self.units.refresh_tags()
        return session

    def stop(self, name: str) -> None:
        info = self.describe(name)
        if info.status != "RUNNING":
            raise AnalyzerInUseError(f"analyzer {name} is not running")
        held_now = datetime.now(UTC).timestamp()
        with self.db.session() as s:
            s.execute(
                update(AnalyzerRow)
                .where(AnalyzerRow.name == name)
                .values(desired="STOPPED", updated_at=now())
            )
            for unit in info.streams:
                state = self.leases.read(unit_lease(name, unit.stream))
                held = state is not None and state.held(held_now)
                status = "STOPPING" if held else ("FAILED" if unit.status == "FAILED" else "STOPPED")
                s.execute(
                    update(AnalyzerStreamRow)
                    .where(AnalyzerStreamRow.analyzer == name, AnalyzerStreamRow.stream == unit.stream)
                    .values(desired="STOPPED", status=status, updated_at=now())
                )
            s.commit()

    # -- internals ------------------------------------------------------------------------------------
    def _info(self, row: AnalyzerRow, units: list[AnalyzerStreamRow]) -> AnalyzerInfo:
        t = datetime.now(UTC).timestamp()
        states = []
        for u in units:
            lease = self.leases.read(unit_lease(u.analyzer, u.stream))
            owner = lease.owner if lease is not None and lease.held(t) else None
            checkpoint = None
            if (
                lease is not None
                and lease.checkpoint
                and lease.checkpoint.startswith((u.session_id or "") + ":")
            ):
                checkpoint = lease.checkpoint.split(":", 1)[1]
            states.append(
                StreamState(
                    stream=u.stream,
                    status=u.status,
                    status_message=u.status_message,
                    lease_owner=owner,
                    checkpoint_fragment=checkpoint,
                    lag_ms=u.lag_ms,
                    lag_fragments=u.lag_fragments,
                    fragments_done=u.fragments_done,
                    fragments_skipped=u.fragments_skipped,
                    frames_analysed=u.frames_analysed,
                    frames_skipped=u.frames_skipped,
                    records_out=u.records_out,
                    errors=u.errors,
                    last_error=u.last_error,
                )
            )
        return AnalyzerInfo(
            name=row.name,
            spec=AnalyzerSpec.model_validate(row.definition["spec"]),
            status="RUNNING" if row.desired == "RUNNING" else "STOPPED",
            created_at=row.created_at,
            updated_at=row.updated_at,
            streams=states,
        )
