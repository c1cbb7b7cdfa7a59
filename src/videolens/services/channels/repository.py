"""Durable records of security groups, inputs and channels in the metadata store (SQLite | PostgreSQL).

Every node of a cluster reads and writes the same rows, so any node answers for any channel. Changes
that must not race across nodes are single conditional statements or run on a row locked with
`SELECT ... FOR UPDATE` (PostgreSQL; SQLite has one writer at a time, and a process-local lock orders
this process's read-check-write steps): attaching an input (`attached_channel` set only when free),
a push StreamName (its own primary key), a channel's state transition. A channel's runner lease lives on
its row (`owner`, `lease_token`, `lease_expires_at`, see supervisor.py). A `channels.json` left by an
older version is imported once at start (and renamed `channels.json.imported`).
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.channels import (
    ChannelInputRow,
    ChannelPushNameRow,
    ChannelRow,
    ChannelSecurityGroupRow,
    ChannelSegmentRow,
)
from videolens.services.channels.errors import ChannelStateError, UnprocessableSettingsError
from videolens.services.channels.models import Channel, Input, InputDestination, SecurityGroup
from videolens.services.errors import InvalidParameterError, NotFoundError

log = logging.getLogger(__name__)

#: CREATING lasts this long (MediaLive takes seconds; clients poll describe_channel until IDLE)
CREATE_DELAY_S = 0.3
#: states in which a runner is (to be) running
ACTIVE = ("STARTING", "RUNNING", "STOPPING")
_ROW_FIELDS = ("id", "name", "state", "created_at")
_DOC_FIELDS = tuple(f.name for f in fields(Channel) if f.name not in _ROW_FIELDS)


def reported_state(row: ChannelRow, now: float) -> str:
    """The state a caller sees: CREATING turns IDLE after the delay; a channel meant to run whose node
    stopped renewing its lease is STARTING again until another node (or this one, restarted) runs it."""
    if row.state == "CREATING" and now - row.created_at >= CREATE_DELAY_S:
        return "IDLE"
    if row.state == "RUNNING" and (row.lease_expires_at is None or row.lease_expires_at < now):
        return "STARTING"
    return row.state


def to_channel(row: ChannelRow, now: float | None = None) -> Channel:
    # a copy: callers edit the channel and write its doc back (the row's JSON must see a new value)
    doc = copy.deepcopy({k: v for k, v in (row.doc or {}).items() if k in _DOC_FIELDS})
    state = reported_state(row, time.time() if now is None else now)
    return Channel(id=row.id, name=row.name, state=state, created_at=row.created_at, **doc)


def channel_doc(channel: Channel) -> dict[str, Any]:
    return {k: getattr(channel, k) for k in _DOC_FIELDS}


def _to_input(row: ChannelInputRow) -> Input:
    return Input(
        row.id,
        row.arn,
        row.name,
        row.type,
        [InputDestination(**d) for d in row.destinations or []],
        list(row.sources or []),
        list(row.security_groups or []),
        [row.attached_channel] if row.attached_channel else [],
        dict(row.tags or {}),
    )


class ChannelRepository:
    def __init__(self, db: Database, legacy_json: Path | None = None) -> None:
        self.db = db
        #: orders this process's read-check-write steps (SQLite); rows are locked across nodes
        self.lock = threading.RLock()
        if legacy_json is not None and legacy_json.is_file():
            try:
                self.import_json(legacy_json)
            except (IntegrityError, FileNotFoundError):  # another process of this node imported it first
                log.info("channels: %s was imported by another process", legacy_json)

    def new_id(self) -> str:
        """A 7-digit id, as MediaLive's, unique across the three kinds."""
        while True:
            candidate = str(1_000_000 + secrets.randbelow(9_000_000))
            with self.db.session() as s:
                if not any(
                    s.get(model, candidate) is not None
                    for model in (ChannelSecurityGroupRow, ChannelInputRow, ChannelRow)
                ):
                    return candidate

    # -- security groups ----------------------------------------------------------------------------
    def add_group(self, group: SecurityGroup) -> None:
        with self.db.session() as s:
            s.add(ChannelSecurityGroupRow(created_at=time.time(), **asdict(group)))

    def group(self, gid: str) -> SecurityGroup | None:
        with self.db.session() as s:
            row = s.get(ChannelSecurityGroupRow, gid)
            return None if row is None else SecurityGroup(row.id, row.arn, list(row.cidrs), dict(row.tags))

    def groups(self) -> list[SecurityGroup]:
        with self.db.session() as s:
            rows = s.scalars(select(ChannelSecurityGroupRow).order_by(ChannelSecurityGroupRow.created_at))
            return [SecurityGroup(r.id, r.arn, list(r.cidrs), dict(r.tags)) for r in rows]

    def save_group(self, group: SecurityGroup) -> None:
        with self.db.session() as s:
            s.execute(
                update(ChannelSecurityGroupRow)
                .where(ChannelSecurityGroupRow.id == group.id)
                .values(cidrs=group.cidrs, tags=group.tags)
            )

    def delete_group(self, gid: str) -> None:
        with self.lock, self.db.session() as s:
            if self._group_inputs(s, gid):
                raise ChannelStateError(f"input security group {gid} is in use by inputs")
            s.execute(delete(ChannelSecurityGroupRow).where(ChannelSecurityGroupRow.id == gid))

    @staticmethod
    def _group_inputs(s: Session, gid: str) -> list[str]:
        rows = s.execute(select(ChannelInputRow.id, ChannelInputRow.security_groups)).all()
        return [iid for iid, groups in rows if gid in (groups or [])]

    def group_inputs(self, gid: str) -> list[str]:
        with self.db.session() as s:
            return self._group_inputs(s, gid)

    # -- inputs -------------------------------------------------------------------------------------
    def add_input(self, item: Input) -> None:
        """Store the input; a StreamName another input uses is refused (on every node at once)."""
        try:
            with self.db.session() as s:
                s.add(self._input_row(item))
                s.flush()
                for d in item.destinations:
                    s.add(ChannelPushNameRow(stream_name=d.stream_name, input_id=item.id))
        except IntegrityError as exc:
            raise InvalidParameterError("StreamName is used by another input") from exc

    @staticmethod
    def _input_row(item: Input) -> ChannelInputRow:
        return ChannelInputRow(
            id=item.id,
            arn=item.arn,
            name=item.name,
            type=item.type,
            destinations=[asdict(d) for d in item.destinations],
            sources=list(item.sources),
            security_groups=list(item.security_groups),
            attached_channel=item.attached_channels[0] if item.attached_channels else None,
            tags=dict(item.tags),
            created_at=time.time(),
        )

    def input(self, iid: str) -> Input | None:
        with self.db.session() as s:
            row = s.get(ChannelInputRow, iid)
            return None if row is None else _to_input(row)

    def inputs(self) -> list[Input]:
        with self.db.session() as s:
            return [
                _to_input(r) for r in s.scalars(select(ChannelInputRow).order_by(ChannelInputRow.created_at))
            ]

    def save_input(self, item: Input) -> None:
        with self.db.session() as s:
            s.execute(
                update(ChannelInputRow)
                .where(ChannelInputRow.id == item.id)
                .values(name=item.name, security_groups=item.security_groups, tags=item.tags)
            )

    def delete_input(self, iid: str) -> None:
        with self.db.session() as s:
            done = s.execute(
                delete(ChannelInputRow).where(
                    ChannelInputRow.id == iid, ChannelInputRow.attached_channel.is_(None)
                )
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                row = s.get(ChannelInputRow, iid)
                if row is None:
                    raise NotFoundError(f"input {iid} not found")
                raise ChannelStateError(f"input {iid} is attached to channel {row.attached_channel}")

    def find_push(self, stream_name: str) -> tuple[Input, InputDestination] | None:
        with self.db.session() as s:
            row = s.execute(
                select(ChannelInputRow)
                .join(ChannelPushNameRow, ChannelPushNameRow.input_id == ChannelInputRow.id)
                .where(ChannelPushNameRow.stream_name == stream_name)
            ).scalar_one_or_none()
            if row is None:
                return None
            item = _to_input(row)
        return item, next(d for d in item.destinations if d.stream_name == stream_name)

    # -- channels -----------------------------------------------------------------------------------
    @staticmethod
    def attach(s: Session, cid: str, input_ids: list[str], previous: Sequence[str] = ()) -> None:
        """Detach `previous` inputs no longer used, attach `input_ids` — each only if free (or ours)."""
        gone = [iid for iid in previous if iid not in input_ids]
        if gone:
            s.execute(
                update(ChannelInputRow)
                .where(ChannelInputRow.id.in_(gone), ChannelInputRow.attached_channel == cid)
                .values(attached_channel=None)
            )
        for iid in input_ids:
            done = s.execute(
                update(ChannelInputRow)
                .where(
                    ChannelInputRow.id == iid,
                    or_(ChannelInputRow.attached_channel.is_(None), ChannelInputRow.attached_channel == cid),
                )
                .values(attached_channel=cid)
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                raise UnprocessableSettingsError(
                    "Failed Create Channel validation",
                    [("inputAttachments.inputId", f"input {iid} is attached to another channel")],
                )

    def add_channel(self, channel: Channel) -> None:
        with self.db.session() as s:
            s.add(
                ChannelRow(
                    id=channel.id,
                    name=channel.name,
                    state=channel.state,
                    desired="IDLE",
                    created_at=channel.created_at,
                    doc=channel_doc(channel),
                )
            )
            s.flush()
            self.attach(s, channel.id, channel.input_ids)

    def channel(self, cid: str) -> Channel:
        with self.db.session() as s:
            row = s.get(ChannelRow, cid)
            if row is None:
                raise NotFoundError(f"channel {cid} not found")
            return to_channel(row)

    def channels(self) -> list[Channel]:
        with self.db.session() as s:
            rows = s.scalars(
                select(ChannelRow).where(ChannelRow.state != "DELETED").order_by(ChannelRow.created_at)
            )
            return [to_channel(r) for r in rows]

    def row(self, cid: str) -> ChannelRow | None:
        with self.db.session() as s:
            return s.get(ChannelRow, cid)

    @contextmanager
    def edit(self, cid: str) -> Iterator[tuple[Session, ChannelRow]]:
        """The channel's row, locked until the block ends (its changes commit then, or roll back)."""
        with self.lock, self.db.session() as s:
            # write first: on SQLite the transaction then holds the write lock (waited for within the busy
            # timeout) over the whole read-check-write, so no other process writes between check and write
            s.execute(update(ChannelRow).where(ChannelRow.id == cid).values(id=ChannelRow.id))
            row = s.execute(
                select(ChannelRow).where(ChannelRow.id == cid).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"channel {cid} not found")
            yield s, row

    # -- the segment log of the current run ---------------------------------------------------------
    def segments(self, cid: str) -> list[ChannelSegmentRow]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(ChannelSegmentRow)
                    .where(ChannelSegmentRow.channel_id == cid)
                    .order_by(ChannelSegmentRow.rendition, ChannelSegmentRow.sequence)
                )
            )

    @staticmethod
    def clear_segments(s: Session, cid: str) -> None:
        s.execute(delete(ChannelSegmentRow).where(ChannelSegmentRow.channel_id == cid))

    # -- import of an older version's JSON file -----------------------------------------------------
    def import_json(self, path: Path) -> int:
        """Import `channels.json` once (records already stored are kept); returns the records imported."""
        doc = json.loads(path.read_text())
        count = 0
        with self.lock, self.db.session() as s:
            for raw in doc.get("groups", []):
                if s.get(ChannelSecurityGroupRow, raw["id"]) is None:
                    s.add(ChannelSecurityGroupRow(created_at=time.time(), **raw))
                    count += 1
            for raw in doc.get("inputs", []):
                if s.get(ChannelInputRow, raw["id"]) is None:
                    raw["destinations"] = [InputDestination(**d) for d in raw.get("destinations", [])]
                    item = Input(**raw)
                    s.add(self._input_row(item))
                    s.flush()
                    for d in item.destinations:
                        s.add(ChannelPushNameRow(stream_name=d.stream_name, input_id=item.id))
                    count += 1
            for raw in doc.get("channels", []):
                if s.get(ChannelRow, raw["id"]) is not None:
                    continue
                channel = Channel(**raw)
                # the old version kept RUNNING for a channel whose process stopped: it runs again now
                running = channel.state in ("STARTING", "RUNNING")
                state = (
                    "STARTING"
                    if running
                    else "IDLE"
                    if channel.state in ACTIVE + ("CREATING",)
                    else channel.state
                )
                s.add(
                    ChannelRow(
                        id=channel.id,
                        name=channel.name,
                        state=state,
                        desired="RUNNING" if running else "IDLE",
                        created_at=channel.created_at,
                        doc=channel_doc(channel),
                    )
                )
                count += 1
        path.replace(path.with_name(path.name + ".imported"))
        log.info("channels: imported %d records from %s", count, path)
        return count
