"""Leases on metadata rows: one owner at a time claims a free or expired row, renews and releases it by token.

Same approach as the job queue (`services/jobs/queue.py`): PostgreSQL picks a claimable row with
`SELECT ... FOR UPDATE SKIP LOCKED`, so processes on many machines never wait for each other; SQLite (one
writer at a time) claims with a single conditional UPDATE. Every claim writes a fresh token, and renewals
and releases are conditioned on it: a holder whose row was taken over (or deleted) learns so at its next
renewal and must stop.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from videolens.backends.metadata.database import Database


class LeasedRows:
    """The lease columns of one table (key, owner, token, expiry as epoch seconds) and the moves on them."""

    def __init__(
        self,
        db: Database,
        *,
        key: InstrumentedAttribute[Any],
        owner: InstrumentedAttribute[Any],
        token: InstrumentedAttribute[Any],
        expires: InstrumentedAttribute[Any],
        lease_seconds: float,
    ) -> None:
        self.db = db
        self.key = key
        self.owner = owner
        self.token = token
        self.expires = expires
        self.table = key.class_
        self.lease_seconds = lease_seconds

    def free(self, now: float) -> ColumnElement[bool]:
        """Rows nobody holds: never claimed, released, or whose holder stopped renewing."""
        return or_(self.expires.is_(None), self.expires < now)

    def grant(self, owner: str) -> dict[str, Any]:
        """Column values of a row created already held by `owner` (its token is under the token key)."""
        return {
            self.owner.key: owner,
            self.token.key: str(uuid.uuid4()),
            self.expires.key: time.time() + self.lease_seconds,
        }

    def claim(
        self, owner: str, *, where: Sequence[ColumnElement[bool]] = (), order_by: Sequence[Any] = ()
    ) -> tuple[Any, str] | None:
        """Take one free row matching `where`; returns (key, token) or None when there is none."""
        now = time.time()
        token = str(uuid.uuid4())
        values = {self.owner.key: owner, self.token.key: token, self.expires.key: now + self.lease_seconds}
        pick = select(self.key).where(self.free(now), *where).order_by(*order_by, self.key).limit(1)
        with self.db.session() as s:
            if self.db.is_sqlite:
                s.execute(
                    update(self.table)
                    .where(self.key == pick.scalar_subquery(), self.free(now))
                    .values(values)
                    .execution_options(synchronize_session=False)
                )
                found = s.scalar(select(self.key).where(self.token == token))
            else:
                found = s.scalar(pick.with_for_update(skip_locked=True))
                if found is not None:
                    s.execute(
                        update(self.table)
                        .where(self.key == found)
                        .values(values)
                        .execution_options(synchronize_session=False)
                    )
        return None if found is None else (found, token)

    def renew(self, key: Any, token: str) -> bool:
        """Extend the lease; False when the row is gone or another owner holds it now."""
        with self.db.session() as s:
            result = s.execute(
                update(self.table)
                .where(self.key == key, self.token == token)
                .values({self.expires.key: time.time() + self.lease_seconds})
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def release(self, key: Any, token: str) -> None:
        """Give the row back at once (clean shutdown): the next claimer need not wait for the expiry."""
        with self.db.session() as s:
            s.execute(
                update(self.table)
                .where(self.key == key, self.token == token)
                .values({self.owner.key: None, self.token.key: None, self.expires.key: None})
                .execution_options(synchronize_session=False)
            )
