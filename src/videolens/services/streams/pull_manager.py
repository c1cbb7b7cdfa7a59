"""Pull sources attached to streams: kept in the metadata store, each pulled by one process under a lease.

`add` stores the source and starts it here; `start()` (a BackgroundTask) claims every stored source whose
lease is free or expired and keeps scanning for more, so pulls survive a restart and move to another
process when theirs stops. Each running pull renews its lease from its own thread; when the row is gone
(`remove`, or the stream was deleted) or another process took it over, the pull stops at that renewal.
"""

from __future__ import annotations

import builtins
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from videolens.backends.leases import Lease, LeaseTable, SqlLeaseStore
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.streams import StreamPullSourceRow, VideoStreamRow
from videolens.services.errors import AlreadyExistsError, InvalidParameterError, NotFoundError
from videolens.services.streams.pull import PullSource, PullStatus

log = logging.getLogger(__name__)

#: PullSource keyword options a stored source may carry
SOURCE_OPTIONS = ("backoff_initial_s", "backoff_max_s")
#: the longest pause between two scans for pulls to take over, seconds
MAX_SCAN_INTERVAL_S = 5.0


@dataclass
class _Local:
    source: PullSource
    stream_id: int
    lease: Lease


class PullManager:
    """The attached pull sources of every stream; runs, in this process, those whose lease it holds."""

    def __init__(
        self,
        open_session: Callable[[str], Any],
        db: Database,
        stream_id: Callable[[str], int],
        *,
        lease_seconds: float = 30.0,
        owner: str | None = None,
    ) -> None:
        self.open_session = open_session
        self.db = db
        self.stream_id = stream_id
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leases = SqlLeaseStore(
            db,
            LeaseTable(
                key=StreamPullSourceRow.stream_id,
                owner=StreamPullSourceRow.owner,
                token=StreamPullSourceRow.lease_token,
                expires=StreamPullSourceRow.lease_expires_at,
                order_by=(StreamPullSourceRow.created_at,),
            ),
            lease_seconds,
        )
        # renew well before expiry: a pull may block up to its read timeout between two renewals
        self.renew_every_s = lease_seconds / 3
        self.scan_interval_s = min(MAX_SCAN_INTERVAL_S, lease_seconds / 2)
        self._local: dict[str, _Local] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._scanner: threading.Thread | None = None

    # -- control (REST, CLI) ------------------------------------------------------------------------

    def add(self, stream: str, url: str, *, listen: bool = False, **options: Any) -> PullStatus:
        """Attach `url` to the stream (stored) and start pulling it in this process."""
        unknown = set(options) - set(SOURCE_OPTIONS)
        if unknown:
            raise InvalidParameterError(f"unknown pull options: {sorted(unknown)}")
        stream_id = self.stream_id(stream)
        lease = self.leases.grant(self.owner)
        try:
            with self.db.session() as s:
                existing = s.scalar(
                    select(StreamPullSourceRow.url).where(StreamPullSourceRow.stream_id == stream_id)
                )
                if existing is not None:
                    raise AlreadyExistsError(f"stream {stream} is already pulled from {existing}")
                s.execute(
                    insert(StreamPullSourceRow).values(
                        stream_id=stream_id,
                        url=url,
                        listen=listen,
                        options=options,
                        created_at=time.time(),
                        **lease,
                    )
                )
        except IntegrityError as exc:  # another process attached one at the same moment
            raise AlreadyExistsError(f"stream {stream} is already pulled") from exc
        held = Lease(stream_id, self.owner, lease[StreamPullSourceRow.lease_token.key])
        return self._run_local(stream, stream_id, held, url, listen, options)

    def remove(self, stream: str) -> None:
        """Detach the stream's source; its pull stops here at once, elsewhere at the owner's next renewal."""
        stream_id = self.stream_id(stream)
        with self.db.session() as s:
            row = s.get(StreamPullSourceRow, stream_id)
            if row is None:
                raise NotFoundError(f"stream {stream} is not pulled")
            s.delete(row)
        self.drop_local(stream)

    def drop_local(self, stream: str) -> None:
        """Stop this process's pull of the stream, if it runs one (its row is already gone)."""
        with self._lock:
            local = self._local.pop(stream, None)
        if local is not None:
            local.source.stop()

    def get(self, stream: str) -> PullStatus:
        stream_id = self.stream_id(stream)
        found = self._stored(StreamPullSourceRow.stream_id == stream_id)
        if not found:
            raise NotFoundError(f"stream {stream} is not pulled")
        return found[0]

    def list(self) -> builtins.list[PullStatus]:
        return self._stored()

    def _stored(self, *where: Any) -> builtins.list[PullStatus]:
        """Stored sources; those running here carry their live state, the others where their lease is."""
        with self.db.session() as s:
            rows = s.execute(
                select(StreamPullSourceRow, VideoStreamRow.name)
                .join(VideoStreamRow, VideoStreamRow.id == StreamPullSourceRow.stream_id)
                .where(*where)
                .order_by(VideoStreamRow.name)
            ).all()
        now = time.time()
        with self._lock:
            local = dict(self._local)
        statuses = []
        for row, name in rows:
            here = local.get(name)
            if here is not None and (here.lease.owner, here.lease.token) == (row.owner, row.lease_token):
                statuses.append(here.source.status)
                continue
            live = row.lease_expires_at is not None and row.lease_expires_at >= now
            statuses.append(
                PullStatus(
                    name,
                    row.url,
                    state="remote" if live else "unclaimed",
                    listen=row.listen,
                    owner=row.owner if live else None,
                )
            )
        return statuses

    # -- BackgroundTask -----------------------------------------------------------------------------

    def start(self) -> None:
        """Claim the stored pulls nobody runs, now and every few seconds from now on."""
        if self._scanner is not None:
            return
        self._halt.clear()
        self._scanner = threading.Thread(target=self._scan_loop, name="pull-scanner", daemon=True)
        self._scanner.start()

    def stop(self) -> None:
        """Stop the pulls of this process and release their leases: another process may take them now."""
        self._halt.set()
        if self._scanner is not None:
            self._scanner.join(30)
            self._scanner = None
        with self._lock:
            locals_ = list(self._local.values())
            self._local.clear()
        for local in locals_:
            local.source.stop()
        for local in locals_:
            try:
                self.leases.release(local.lease)
            except Exception:  # the lease then simply expires
                log.exception("could not release the pull lease of %s", local.source.status.stream)

    def _scan_loop(self) -> None:
        while not self._halt.is_set():
            try:
                self.scan()
            except Exception:  # noqa: BLE001 - store unreachable for a moment: scan again later
                log.exception("pull scan failed")
            self._halt.wait(self.scan_interval_s)

    def scan(self) -> int:
        """Claim and start every stored pull whose lease is free or expired; returns how many."""
        started = 0
        while not self._halt.is_set():
            with self._lock:
                # a pull still running here whose lease lapsed is ours to renew, not to start twice
                running = [local.stream_id for local in self._local.values()]
            claimed = self.leases.claim(
                self.owner, where=[StreamPullSourceRow.stream_id.not_in(running)] if running else []
            )
            if claimed is None:
                return started
            stream_id = int(claimed.key)
            with self.db.session() as s:
                found = s.execute(
                    select(StreamPullSourceRow, VideoStreamRow.name)
                    .join(VideoStreamRow, VideoStreamRow.id == StreamPullSourceRow.stream_id)
                    .where(StreamPullSourceRow.stream_id == stream_id)
                ).first()
            if found is None:
                continue  # removed between the claim and now
            row, name = found
            log.info("taking over the pull of %s from %s", name, row.url)
            self._run_local(name, stream_id, claimed, row.url, row.listen, dict(row.options or {}))
            started += 1
        return started

    def _run_local(
        self, stream: str, stream_id: int, lease: Lease, url: str, listen: bool, options: dict[str, Any]
    ) -> PullStatus:
        holder: list[PullSource] = []
        source = PullSource(
            lambda: self.open_session(stream),
            stream,
            url,
            listen=listen,
            keep_lease=lambda: self.leases.renew(lease),
            renew_every_s=self.renew_every_s,
            on_lost=lambda: self._forget(stream, holder[0]),
            **{k: v for k, v in options.items() if k in SOURCE_OPTIONS},
        )
        holder.append(source)
        source.status.owner = self.owner
        with self._lock:
            previous = self._local.get(stream)
            self._local[stream] = _Local(source, stream_id, lease)
        if previous is not None:  # a stale pull of a row that was removed and attached again
            previous.source.stop()
        source.start()
        return source.status

    def _forget(self, stream: str, source: PullSource) -> None:
        with self._lock:
            local = self._local.get(stream)
            if local is not None and local.source is source:
                del self._local[stream]
