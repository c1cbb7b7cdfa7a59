"""Stream processors: definitions, statuses and their transitions; the engine (engine.py) runs them.

Statuses follow Rekognition: Create → STOPPED; Start → STARTING (a worker takes the lease) → RUNNING;
Stop → STOPPING → STOPPED (at once when no worker holds it); FAILED with a StatusMessage when the input
stream is deleted or unreadable. Delete and Update need a processor that is not running.

A STARTING processor stays STARTING until a worker takes it (like AWS, which starts it "soon"); when no
live worker runs at all (no `live-worker/...` heartbeat lease is held: `videolens serve` and
`videolens processors worker` run one unless VIDEOLENS_PROCESSOR_SLOTS=0), Describe says so in its
StatusMessage instead of leaving the caller to guess.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from videolens.backends.leases import LeaseStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.leases import LeaseRow
from videolens.backends.metadata.tables.processors import StreamProcessorRow
from videolens.runtime.settings import Settings
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.live.errors import ProcessorInUseError, ProcessorNotFoundError
from videolens.services.live.models import LAG_POLICIES, ProcessorInfo
from videolens.services.live.registry import ProcessorKinds
from videolens.services.pagination import decode_token, encode_token
from videolens.services.streams.service import StreamsService

NAME = re.compile(r"^[a-zA-Z0-9_.\-]{1,128}$")
RUNNING_STATES = ("STARTING", "RUNNING")
ARN_NAME = re.compile(r"^arn:[a-z\d-]+:rekognition:[a-z\d-]+:\d{12}:streamprocessor/(.+)$")


WORKER_PREFIX = "live-worker/"
NO_WORKER = (
    "waiting for a worker: no live-analysis worker is running (start `videolens serve` or "
    "`videolens processors worker` with VIDEOLENS_PROCESSOR_SLOTS > 0 on this metadata store)"
)


def lease_key(name: str) -> str:
    return f"stream-processor/{name}"


def worker_lease_key(owner: str) -> str:
    """The heartbeat lease every running engine holds (see ProcessorsService.live_workers)."""
    return WORKER_PREFIX + owner


def _now() -> datetime:
    return datetime.now(UTC)


def _info(row: StreamProcessorRow, arn: str) -> ProcessorInfo:
    return ProcessorInfo(
        name=row.name,
        arn=arn,
        kind=row.kind,
        input_arn=row.input_arn,
        definition=dict(row.definition),
        status=row.status,  # type: ignore[arg-type]
        status_message=row.status_message,
        desired=row.desired,
        lag_policy=row.lag_policy,  # type: ignore[arg-type]
        session_id=row.session_id,
        start_after=row.start_after,
        created_at=row.created_at,
        updated_at=row.updated_at,
        fragments_done=row.fragments_done,
        fragments_skipped=row.fragments_skipped,
        records_out=row.records_out,
        lag_fragments=row.lag_fragments,
        tags=dict(row.tags or {}),
    )


class ProcessorsService:
    def __init__(self, settings: Settings, db: Database, streams: StreamsService, leases: LeaseStore) -> None:
        self.settings = settings
        self.db = db
        self.streams = streams
        self.leases = leases
        self.kinds = ProcessorKinds()

    def arn(self, name: str) -> str:
        s = self.settings
        return f"arn:aws:rekognition:{s.region}:{s.account_id}:streamprocessor/{name}"

    def name_from_arn(self, arn: str) -> str:
        m = ARN_NAME.match(arn or "")
        if not m:
            raise InvalidParameterError(f"{arn} is not a stream processor ARN")
        return m.group(1)

    # -- definitions --------------------------------------------------------------------------------
    def create(
        self,
        name: str,
        definition: dict[str, Any],
        tags: dict[str, str] | None = None,
        lag_policy: str = "catch-up",
    ) -> ProcessorInfo:
        if not NAME.match(name or ""):
            raise InvalidParameterError(f"invalid stream processor name {name!r}")
        if lag_policy not in LAG_POLICIES:
            raise InvalidParameterError(f"lag policy must be one of {', '.join(LAG_POLICIES)}")
        kind = self.kinds.for_settings(definition.get("Settings") or {})
        input_arn = ((definition.get("Input") or {}).get("KinesisVideoStream") or {}).get("Arn")
        if not input_arn:
            raise InvalidParameterError("Input.KinesisVideoStream.Arn is required")
        self.streams.describe_stream(arn=input_arn)  # NotFoundError for a stream that does not exist
        kind.check(definition)
        with self.db.session() as s:
            if s.get(StreamProcessorRow, name) is not None:
                raise ProcessorInUseError(f"stream processor {name} already exists")
            now = _now()
            row = StreamProcessorRow(
                name=name,
                kind=kind.name,
                input_arn=input_arn,
                definition=definition,
                tags=dict(tags or {}),
                status="STOPPED",
                desired="STOPPED",
                lag_policy=lag_policy,
                created_at=now,
                updated_at=now,
                fragments_done=0,
                fragments_skipped=0,
                records_out=0,
                lag_fragments=0,
            )
            s.add(row)
            s.commit()
            return _info(row, self.arn(name))

    def describe(self, name: str) -> ProcessorInfo:
        with self.db.session() as s:
            row = s.get(StreamProcessorRow, name)
            if row is None:
                raise ProcessorNotFoundError(f"stream processor {name} not found")
            info = _info(row, self.arn(name))
        if info.status == "STARTING" and info.status_message is None and self.live_workers() == 0:
            return replace(info, status_message=NO_WORKER)
        return info

    def live_workers(self, now: float | None = None) -> int:
        """Engines whose heartbeat lease is held now (any process on this metadata store)."""
        now = time.time() if now is None else now
        with self.db.session() as s:
            count = s.scalar(
                select(func.count())
                .select_from(LeaseRow)
                .where(
                    LeaseRow.name.startswith(WORKER_PREFIX, autoescape=True),
                    LeaseRow.owner.is_not(None),
                    LeaseRow.expires >= now,
                )
            )
        return int(count or 0)

    def prune_worker_heartbeats(self, older_than_s: float = 3600.0) -> int:
        """Drop the heartbeat rows of engines gone for a while (every process start adds one)."""
        cutoff = time.time() - older_than_s
        with self.db.session() as s:
            result: Any = s.execute(
                delete(LeaseRow).where(
                    LeaseRow.name.startswith(WORKER_PREFIX, autoescape=True),
                    or_(LeaseRow.owner.is_(None), LeaseRow.expires < cutoff),
                )
            )
            s.commit()
            return int(result.rowcount or 0)

    def list_processors(
        self, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[ProcessorInfo], str | None]:
        limit = max(1, min(max_results or 1000, 1000))
        after = str(decode_token("processors", next_token)["after"]) if next_token else None
        with self.db.session() as s:
            query = select(StreamProcessorRow).order_by(StreamProcessorRow.name).limit(limit + 1)
            if after is not None:
                query = query.where(StreamProcessorRow.name > after)
            rows = list(s.scalars(query))
        page = [_info(r, self.arn(r.name)) for r in rows[:limit]]
        token = encode_token("processors", {"after": page[-1].name}) if len(rows) > limit else None
        return page, token

    def update(
        self,
        name: str,
        changes: dict[str, Any],
        delete: list[str] | None = None,
        connected_home: dict[str, Any] | None = None,
    ) -> None:
        """UpdateStreamProcessor: top-level members replaced, `connected_home` (ConnectedHomeForUpdate:
        Labels, MinConfidence) merged into Settings.ConnectedHome; the result is validated again."""
        with self.db.session() as s:
            row = self._row(s, name)
            if row.status in ("STARTING", "RUNNING", "STOPPING", "UPDATING"):
                raise ProcessorInUseError(f"stream processor {name} is {row.status}; stop it first")
            definition = json.loads(json.dumps(row.definition))  # a deep copy: the row is compared on commit
            definition.update(changes)
            if connected_home:
                home = (definition.get("Settings") or {}).get("ConnectedHome")
                if home is None:
                    raise InvalidParameterError(
                        "SettingsForUpdate.ConnectedHomeForUpdate applies to ConnectedHome processors only"
                    )
                home.update({k: v for k, v in connected_home.items() if v is not None})
            for member in list(delete or []):
                if member == "RegionsOfInterest":
                    definition.pop("RegionsOfInterest", None)
                elif member == "ConnectedHomeMinConfidence":
                    (definition.get("Settings") or {}).get("ConnectedHome", {}).pop("MinConfidence", None)
            self.kinds.get(row.kind).check(definition)
            row.definition = definition
            row.updated_at = _now()
            s.commit()

    def delete(self, name: str) -> None:
        with self.db.session() as s:
            row = self._row(s, name)
            if row.status in ("STARTING", "RUNNING", "STOPPING"):
                raise ProcessorInUseError(f"stream processor {name} is {row.status}; stop it first")
            s.delete(row)
            s.commit()

    # -- tags ---------------------------------------------------------------------------------------
    def tag(self, arn: str, tags: dict[str, str]) -> None:
        name = self.name_from_arn(arn)
        with self.db.session() as s:
            row = self._row(s, name)
            merged = dict(row.tags or {})
            merged.update(tags)
            if len(merged) > 200:
                raise InvalidParameterError("a stream processor holds at most 200 tags")
            row.tags = merged
            s.commit()

    def untag(self, arn: str, keys: list[str]) -> None:
        name = self.name_from_arn(arn)
        with self.db.session() as s:
            row = self._row(s, name)
            row.tags = {k: v for k, v in (row.tags or {}).items() if k not in set(keys)}
            s.commit()

    def tags(self, arn: str) -> dict[str, str]:
        return self.describe(self.name_from_arn(arn)).tags

    # -- transitions --------------------------------------------------------------------------------
    def start(
        self,
        name: str,
        start_selector: dict[str, Any] | None = None,
        stop_selector: dict[str, Any] | None = None,
    ) -> str:
        info = self.describe(name)
        if info.status in ("STARTING", "RUNNING", "STOPPING", "UPDATING"):
            raise ProcessorInUseError(f"stream processor {name} is {info.status}")
        start_after = self._start_position(info, (start_selector or {}).get("KVSStreamStartSelector") or {})
        session = uuid.uuid4().hex
        definition = dict(info.definition)
        definition["StopSelector"] = stop_selector or None
        with self.db.session() as s:
            s.execute(
                update(StreamProcessorRow)
                .where(StreamProcessorRow.name == name)
                .values(
                    status="STARTING",
                    status_message=None,
                    desired="RUNNING",
                    session_id=session,
                    start_after=start_after,
                    definition=definition,
                    fragments_done=0,
                    fragments_skipped=0,
                    records_out=0,
                    lag_fragments=0,
                    updated_at=_now(),
                )
            )
            s.commit()
        return session

    def _start_position(self, info: ProcessorInfo, selector: dict[str, Any]) -> str | None:
        """'from:N' / 'after:N' / None (from the first); without a selector, at the newest fragment."""
        try:
            if selector.get("FragmentNumber"):
                return "from:" + str(selector["FragmentNumber"])
            if selector.get("ProducerTimestamp") is not None:
                ts = float(selector["ProducerTimestamp"]) / 1000.0  # milliseconds on the wire
                first = self.streams.first_fragment_at(ts, arn=info.input_arn)
                return None if first is None else "from:" + first.fragment_number
            latest = self.streams.latest_fragment(arn=info.input_arn)
        except NotFoundError as exc:
            raise NotFoundError(f"input stream of {info.name}: {exc}") from exc
        return None if latest is None else "after:" + latest.fragment_number

    def stop(self, name: str) -> None:
        info = self.describe(name)
        if info.status not in RUNNING_STATES:
            raise ProcessorInUseError(f"stream processor {name} is {info.status}, not running")
        state = self.leases.read(lease_key(name))
        held = state is not None and state.held(datetime.now(UTC).timestamp())
        self._set(name, status="STOPPING" if held else "STOPPED", desired="STOPPED")

    # -- engine side --------------------------------------------------------------------------------
    def runnable(self) -> list[ProcessorInfo]:
        with self.db.session() as s:
            rows = list(s.scalars(select(StreamProcessorRow).where(StreamProcessorRow.desired == "RUNNING")))
            return [_info(r, self.arn(r.name)) for r in rows]

    def stopping(self) -> list[str]:
        with self.db.session() as s:
            return list(
                s.scalars(select(StreamProcessorRow.name).where(StreamProcessorRow.status == "STOPPING"))
            )

    def mark(self, name: str, session: str | None, **values: Any) -> bool:
        """Update the row of `session` (a later Start made a new session: the old one writes nothing)."""
        values["updated_at"] = _now()
        with self.db.session() as s:
            query = update(StreamProcessorRow).where(StreamProcessorRow.name == name)
            if session is not None:
                query = query.where(StreamProcessorRow.session_id == session)
            result: Any = s.execute(query.values(**values))
            done = result.rowcount
            s.commit()
            return bool(done)

    def requeue(self, name: str, session: str) -> None:
        """A worker let a running session go without a Stop (shutdown): back to STARTING for the next."""
        with self.db.session() as s:
            s.execute(
                update(StreamProcessorRow)
                .where(
                    StreamProcessorRow.name == name,
                    StreamProcessorRow.session_id == session,
                    StreamProcessorRow.status == "RUNNING",
                    StreamProcessorRow.desired == "RUNNING",
                )
                .values(status="STARTING", updated_at=_now())
            )
            s.commit()

    def add_counts(self, name: str, session: str, *, done: int, skipped: int, records: int, lag: int) -> None:
        with self.db.session() as s:
            s.execute(
                update(StreamProcessorRow)
                .where(StreamProcessorRow.name == name, StreamProcessorRow.session_id == session)
                .values(
                    fragments_done=StreamProcessorRow.fragments_done + done,
                    fragments_skipped=StreamProcessorRow.fragments_skipped + skipped,
                    records_out=StreamProcessorRow.records_out + records,
                    lag_fragments=lag,
                )
            )
            s.commit()

    def _set(self, name: str, **values: Any) -> None:
        self.mark(name, None, **values)

    def _row(self, s: Any, name: str) -> StreamProcessorRow:
        row: StreamProcessorRow | None = s.get(StreamProcessorRow, name)
        if row is None:
            raise ProcessorNotFoundError(f"stream processor {name} not found")
        return row
