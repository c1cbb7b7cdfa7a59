"""Leases on metadata rows (SQLite or PostgreSQL): claim, take, renew, checkpoint, release, fenced writes.

A `LeaseTable` names the lease columns of a table: the job queue leases `jobs` rows, the pulls lease
`stream_pull_sources` rows (the lease lives on the row it guards, so a claim can filter on the row's own
state and a deleted row ends its lease), and named leases (`leases` table, `named_lease_table()`) serve
holders without a row of their own, e.g. one stream processor per (processor, stream) with a checkpoint.

Claiming is one `UPDATE ... WHERE key = (SELECT key ... LIMIT 1) RETURNING key, token`: on PostgreSQL
the sub-select takes `FOR UPDATE SKIP LOCKED`, so claimers on many machines never wait for each other;
SQLite has one writer at a time, so the conditional UPDATE alone is exclusive. Every claim or take
increments the token; every holder write is `WHERE key = :key AND owner = :me AND token = :token`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from videolens.backends.leases.base import Lease, LeaseState
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.leases import LeaseRow

Column = InstrumentedAttribute[Any]


@dataclass(frozen=True)
class LeaseTable:
    """The lease columns of one table and the rules of its rows."""

    key: Column
    owner: Column
    token: Column
    expires: Column
    #: where a holder stores its progress (None: this table keeps no checkpoint)
    checkpoint: Column | None = None
    #: what a row must also satisfy to be claimed (e.g. a job still to run)
    claimable: Sequence[ColumnElement[bool]] = ()
    #: what every holder write also requires (e.g. the job was not cancelled meanwhile)
    live: Sequence[ColumnElement[bool]] = ()
    #: claim order (oldest first); the key breaks ties
    order_by: Sequence[Any] = ()
    #: extra values every claim writes (e.g. attempts + 1)
    on_claim: Mapping[str, Any] = field(default_factory=dict)
    #: `take` creates a missing row (named leases); rows of other tables are made by their owners
    create_missing: bool = False


def named_lease_table() -> LeaseTable:
    """The `leases` table: one row per lease name, created by its first `take`, with a checkpoint."""
    return LeaseTable(
        key=LeaseRow.name,
        owner=LeaseRow.owner,
        token=LeaseRow.token,
        expires=LeaseRow.expires,
        checkpoint=LeaseRow.checkpoint,
        create_missing=True,
    )


class SqlLeaseStore:
    """`LeaseStore` on one table of the metadata store."""

    def __init__(self, db: Database, table: LeaseTable, lease_seconds: float) -> None:
        self.db = db
        self.t = table
        self.model = table.key.class_
        self.lease_seconds = lease_seconds

    # ---------------------------------------------------------------- conditions
    def free(self, now: float) -> ColumnElement[bool]:
        """Rows nobody holds: never claimed, released, or whose holder stopped renewing."""
        return or_(self.t.owner.is_(None), self.t.expires.is_(None), self.t.expires < now)

    def _fence(self, lease: Lease) -> ColumnElement[bool]:
        return and_(
            self.t.key == lease.key, self.t.owner == lease.owner, self.t.token == lease.token, *self.t.live
        )

    def _taken(self, owner: str, now: float) -> dict[str, Any]:
        return {
            self.t.owner.key: owner,
            self.t.token.key: func.coalesce(self.t.token, 0) + 1,
            self.t.expires.key: now + self.lease_seconds,
        }

    def grant(self, owner: str) -> dict[str, Any]:
        """Column values of a row created already held by `owner` (its token is 1: first holder)."""
        return {
            self.t.owner.key: owner,
            self.t.token.key: 1,
            self.t.expires.key: time.time() + self.lease_seconds,
        }

    # ---------------------------------------------------------------- taking
    def claim(
        self,
        owner: str,
        *,
        where: Sequence[ColumnElement[bool]] = (),
        then: Callable[[Session, Lease], None] | None = None,
    ) -> Lease | None:
        """Take the first free claimable row (also matching `where`); `then` runs in the same transaction."""
        now = time.time()
        pick = (
            select(self.t.key)
            .where(self.free(now), *self.t.claimable, *where)
            .order_by(*self.t.order_by, self.t.key)
            .limit(1)
        )
        if not self.db.is_sqlite:
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(self.model)
            .where(self.t.key == pick.scalar_subquery(), self.free(now), *self.t.claimable)
            .values({**self._taken(owner, now), **self.t.on_claim})
            .returning(self.t.key, self.t.token)
            .execution_options(synchronize_session=False)
        )
        with self.db.session() as s:
            row = s.execute(stmt).first()
            if row is None:
                return None
            lease = Lease(row[0], owner, int(row[1]))
            if then is not None:
                then(s, lease)
            return lease

    def take(self, key: Any, owner: str) -> Lease | None:
        """Take `key` when it is free; a named lease that does not exist yet is created held."""
        now = time.time()
        stmt = (
            update(self.model)
            .where(self.t.key == key, self.free(now), *self.t.claimable)
            .values({**self._taken(owner, now), **self.t.on_claim})
            .returning(self.t.token)
            .execution_options(synchronize_session=False)
        )
        with self.db.session() as s:
            token = s.scalar(stmt)
        if token is not None:
            return Lease(key, owner, int(token))
        if not self.t.create_missing:
            return None
        try:
            with self.db.session() as s:
                s.execute(insert(self.model).values({self.t.key.key: key, **self.grant(owner)}))
        except IntegrityError:  # it exists (and is held): someone else took it first
            return None
        return Lease(key, owner, 1)

    # ---------------------------------------------------------------- holder writes (fenced)
    def write(
        self,
        lease: Lease,
        values: Mapping[str, Any],
        then: Callable[[Session], None] | None = None,
        *,
        where: Sequence[ColumnElement[bool]] = (),
    ) -> bool:
        """Write `values` on the leased row if `lease` still holds it (and the row matches `where`);
        `then` runs in that transaction."""
        with self.db.session() as s:
            result = s.execute(
                update(self.model)
                .where(self._fence(lease), *where)
                .values(dict(values))
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            if then is not None:
                then(s)
            return True

    def renew(self, lease: Lease, values: Mapping[str, Any] | None = None) -> bool:
        return self.write(lease, {self.t.expires.key: time.time() + self.lease_seconds, **(values or {})})

    def checkpoint(self, lease: Lease, value: str) -> bool:
        if self.t.checkpoint is None:
            raise ValueError(f"{self.model.__tablename__} keeps no checkpoint")
        return self.write(lease, {self.t.checkpoint.key: value})

    def release(self, lease: Lease, values: Mapping[str, Any] | None = None) -> bool:
        """Free the row at once; the token stays, so the next holder's is higher still."""
        return self.write(lease, {self.t.owner.key: None, self.t.expires.key: None, **(values or {})})

    # ---------------------------------------------------------------- reading
    def holds(self, lease: Lease) -> bool:
        """Whether `lease` is still the row's lease (False once taken over, released, deleted, not live)."""
        with self.db.session() as s:
            return s.scalar(select(self.t.key).where(self._fence(lease))) is not None

    def read(self, key: Any) -> LeaseState | None:
        cols = [self.t.owner, self.t.token, self.t.expires]
        if self.t.checkpoint is not None:
            cols.append(self.t.checkpoint)
        with self.db.session() as s:
            row = s.execute(select(*cols).where(self.t.key == key)).first()
        if row is None:
            return None
        checkpoint = row[3] if self.t.checkpoint is not None else None
        return LeaseState(key, row[0], int(row[1] or 0), row[2], checkpoint)
