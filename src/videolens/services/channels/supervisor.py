"""The runner supervisor of a node: runs the channels meant to run whose lease this node holds.

Start/Stop only set a channel's desired state (`channels.desired`). Every node's supervisor claims the
free lease of each channel meant to run (the lease lives on the channel row: `SqlLeaseStore`, a
fencing token incremented by every claim), starts its runner, marks it RUNNING once the input listens,
and renews every lease_seconds / 3. So exactly one node runs a RUNNING channel; when that node dies or
stalls, its lease expires and another node (or the same one, restarted) claims the channel: STARTING,
then RUNNING again, its HLS output continuing from the segment log (`channel_segments`) with a
discontinuity. A node that finds its lease taken over stops its runner without writing anything more:
every output write first checks that the lease was renewed less than lease_seconds ago, else renews it
with a fenced write before writing (a stalled node resuming after it was taken over writes nothing), and
each segment is logged under the fence (owner + token), so a stale node cannot add to its successor's
playlists. Stop from any node reaches the holder through
the row (and a wake notification): it stops the runner, writes the complete VOD playlists, and releases
the lease with the channel IDLE; a channel stopped while nobody holds its lease is set IDLE by any node.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from videolens.backends.leases import Lease, LeaseTable, SqlLeaseStore
from videolens.backends.metadata.tables.channels import ChannelInputRow, ChannelRow, ChannelSegmentRow
from videolens.services.channels.hls_output import HlsOutput, Put, SegmentEntry
from videolens.services.channels.models import PUSH_TYPES, Channel, OutputPlan
from videolens.services.channels.repository import ACTIVE, ChannelRepository, to_channel
from videolens.services.channels.runner import ChannelRunner

log = logging.getLogger(__name__)

#: a channel whose runner could not be built (e.g. its bucket was deleted) is tried again after this
RETRY_S = 5.0


class Fenced(Exception):
    """This node no longer holds (or cannot be sure it holds) the channel's lease: it must not write."""


class RunGuard:
    """One run of a channel on this node under one lease: fences its writes, logs its segments."""

    def __init__(
        self,
        leases: SqlLeaseStore,
        lease: Lease,
        resume: list[ChannelSegmentRow],
        lease_seconds: float,
        claimed_at: float | None = None,
    ) -> None:
        self.leases, self.lease, self.resume, self.lease_seconds = leases, lease, resume, lease_seconds
        #: monotonic time taken before the claim (or the last renewal): the lease runs at least that long
        self.renewed_at = time.monotonic() if claimed_at is None else claimed_at
        self.lost = False

    def valid(self) -> bool:
        """False once the lease was lost, or not renewed for a whole lease time (someone may have it)."""
        return not self.lost and time.monotonic() - self.renewed_at < self.lease_seconds

    def ensure(self) -> bool:
        """Whether this run may write now: renewed within a lease time, else renewed right now (a tick
        of the supervisor that came late must not drop output while the lease is still ours)."""
        if self.valid() or self.lost:
            return not self.lost
        started = time.monotonic()
        if self.leases.renew(self.lease):
            self.renewed_at = started
            return True
        self.lost = True
        return False

    def fence(self, put: Put) -> Put:
        def guarded(name: str, data: bytes, content_type: str) -> None:
            if not self.ensure():
                raise Fenced(f"channel {self.lease.key}: lease lost, {name} not written")
            put(name, data, content_type)

        return guarded

    def bind(self, plan: OutputPlan, base: str, puts: list[Put]) -> None:
        """What the run's output is made of (the runner makes it at its first connection)."""
        self._output_args = (plan, base, [self.fence(put) for put in puts])

    def output(self, sizes: list[tuple[int, int]]) -> HlsOutput:
        plan, base, puts = self._output_args
        return LoggedHlsOutput(self, plan, base, puts, sizes)

    def finish_unconnected(self) -> None:
        """Stopped before any pusher came back: the runner made no output, the logged run still gets
        its complete VOD playlists."""
        if self.resume and hasattr(self, "_output_args"):
            self.output([]).finish()

    def log_segment(self, rendition: int, entry: SegmentEntry) -> bool:
        def insert(s: Any) -> None:
            s.add(
                ChannelSegmentRow(
                    channel_id=self.lease.key,
                    rendition=rendition,
                    sequence=entry.sequence,
                    uri=entry.uri,
                    duration_s=entry.duration_s,
                    discontinuity=entry.discontinuity,
                )
            )

        expires = ChannelRow.lease_expires_at.key
        started = time.monotonic()
        if self.leases.write(self.lease, {expires: time.time() + self.lease_seconds}, then=insert):
            self.renewed_at = started  # the log write renewed the lease too
            return True
        return False


class LoggedHlsOutput(HlsOutput):
    """The HLS output of a run: seeded with the segments of the run it continues (the first new segment
    of each rendition then carries a discontinuity), every new segment logged under the lease."""

    def __init__(
        self, guard: RunGuard, plan: OutputPlan, base: str, puts: list[Put], sizes: list[tuple[int, int]]
    ) -> None:
        super().__init__(plan, base, puts, sizes)
        self.guard = guard
        for row in guard.resume:
            if row.rendition < len(self.entries):
                self.entries[row.rendition].append(
                    SegmentEntry(row.sequence, row.uri, row.duration_s, row.discontinuity)
                )
        self._continues = [bool(e) for e in self.entries]
        self._master_written = all(self.entries)  # by the run this one continues

    def add_segment(self, index: int, data: bytes, duration_s: float, discontinuity: bool) -> None:
        if not self.guard.ensure():
            raise Fenced(f"channel {self.guard.lease.key}: lease lost, segment dropped")
        if self._continues[index]:
            discontinuity, self._continues[index] = True, False
        super().add_segment(index, data, duration_s, discontinuity)
        if not self.guard.log_segment(index, self.entries[index][-1]):
            self.guard.lost = True


@dataclass
class _Held:
    runner: ChannelRunner
    guard: RunGuard
    stopping: bool = False
    done: threading.Event = field(default_factory=threading.Event)


MakeRunner = Callable[[Channel, RunGuard], ChannelRunner]


class RunnerSupervisor:
    def __init__(
        self,
        repo: ChannelRepository,
        make_runner: MakeRunner,
        lease_seconds: float,
        owner: str | None = None,
    ) -> None:
        self.repo = repo
        self.make_runner = make_runner
        self.lease_seconds = lease_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        #: set to act at once (a Start or Stop on any node: the container makes it a ClusterWake)
        self.wake = threading.Event()
        self.push_door = False
        self.endpoint: str | None = None
        self.leases = self._leases()
        self._held: dict[str, _Held] = {}
        self._retry_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def _leases(self) -> SqlLeaseStore:
        return SqlLeaseStore(
            self.repo.db,
            LeaseTable(
                key=ChannelRow.id,
                owner=ChannelRow.owner,
                token=ChannelRow.lease_token,
                expires=ChannelRow.lease_expires_at,
                claimable=(ChannelRow.desired == "RUNNING",),
                order_by=(ChannelRow.created_at,),
                on_claim={ChannelRow.state.key: "STARTING", ChannelRow.runner_endpoint.key: self.endpoint},
            ),
            self.lease_seconds,
        )

    def runner(self, cid: str) -> ChannelRunner | None:
        with self._lock:
            held = self._held.get(cid)
        return held.runner if held is not None and held.guard.valid() else None

    # -- BackgroundTask -----------------------------------------------------------------------------
    def start(self, endpoint: str | None, push_door: bool) -> None:
        """Run the loop; `endpoint` (host:port of this node's RTMP door) is recorded on the channels it
        takes; without a push door it takes pull channels only."""
        self.endpoint, self.push_door = endpoint, push_door
        self.leases = self._leases()
        self._halt.clear()
        self._thread = threading.Thread(target=self._loop, name="channels-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop this node's runners and release their leases, the channels still meant to run: another
        node (or this one, restarted) takes them at once. No VOD playlist: the broadcast goes on."""
        self._halt.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        with self._lock:
            held = list(self._held.items())
        for cid, h in held:
            if h.stopping:
                h.done.wait(30)
                continue
            h.guard.lost = True  # the successor owns the output from now on
            h.runner.stop()
            self._release(h, {ChannelRow.state.key: "STARTING"})
            with self._lock:
                self._held.pop(cid, None)

    def _loop(self) -> None:
        while not self._halt.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the store unreachable for a moment: try again soon
                log.exception("channels: supervisor tick failed")
            self.wake.wait(self.lease_seconds / 3)
            self.wake.clear()

    def tick(self) -> None:
        self._sweep()
        with self._lock:
            held = list(self._held.items())
        for cid, h in held:
            self._keep(cid, h)
        while not self._halt.is_set() and self._claim():
            pass

    # -- steps --------------------------------------------------------------------------------------
    def _sweep(self) -> None:
        """Channels stopped while nobody held their lease (their node died) are IDLE now."""
        with self.repo.db.session() as s:
            s.execute(
                update(ChannelRow)
                .where(
                    ChannelRow.desired == "IDLE", ChannelRow.state.in_(ACTIVE), self.leases.free(time.time())
                )
                .values(state="IDLE", runner_endpoint=None)
            )

    def _keep(self, cid: str, h: _Held) -> None:
        row = self.repo.row(cid)
        lease = h.guard.lease
        if row is None or (row.owner, row.lease_token) != (lease.owner, lease.token):
            if not h.stopping:
                log.warning(
                    "channels: channel %s was taken over by %s; stopping its runner here",
                    cid,
                    row and row.owner,
                )
                self._end(cid, h, finish=False)
            return
        if row.desired != "RUNNING" and not h.stopping:
            self._end(cid, h, finish=True)
        started = time.monotonic()
        if self.leases.renew(lease):
            h.guard.renewed_at = started
        elif not h.stopping:
            self._end(cid, h, finish=False)

    def _end(self, cid: str, h: _Held, *, finish: bool) -> None:
        """Stop the runner in its own thread (it may take seconds), renewing meanwhile."""
        h.stopping = True
        if not finish:
            h.guard.lost = True

        def run() -> None:
            try:
                h.runner.stop()  # finish: the VOD playlists (refused by the fence when not ours)
                if finish:
                    if h.runner.output is None:
                        h.guard.finish_unconnected()
                    self._release(h, {ChannelRow.state.key: "IDLE", ChannelRow.runner_endpoint.key: None})
            finally:
                with self._lock:
                    self._held.pop(cid, None)
                h.done.set()

        threading.Thread(target=run, name=f"channel-{cid}-stop", daemon=True).start()

    def _release(self, h: _Held, values: dict[str, Any]) -> None:
        try:
            self.leases.release(h.guard.lease, values)
        except Exception:  # noqa: BLE001 - the lease then simply expires
            log.exception("channels: could not release the lease of channel %s", h.guard.lease.key)

    def _claim(self) -> bool:
        now = time.time()
        with self._lock:
            skip = list(self._held) + [c for c, t in self._retry_at.items() if t > now]
        where = [ChannelRow.id.not_in(skip)] if skip else []
        if not self.push_door:
            pull = select(ChannelInputRow.attached_channel).where(ChannelInputRow.type.not_in(PUSH_TYPES))
            where.append(ChannelRow.id.in_(pull))
        claimed_at = time.monotonic()
        lease = self.leases.claim(self.owner, where=where)
        if lease is None:
            return False
        cid = str(lease.key)
        guard = RunGuard(self.leases, lease, self.repo.segments(cid), self.lease_seconds, claimed_at)
        row = self.repo.row(cid)
        try:
            if row is None:
                raise LookupError("the channel is gone")
            runner = self.make_runner(to_channel(row), guard)
        except Exception as exc:  # noqa: BLE001 - reported, tried again later (maybe on another node)
            log.error("channels: cannot run channel %s here: %s", cid, exc)
            self.leases.release(lease)
            with self._lock:
                self._retry_at[cid] = now + RETRY_S
            return True
        log.info("channels: running channel %s here (lease token %d)", cid, lease.token)
        h = _Held(runner, guard)
        with self._lock:
            self._held[cid] = h
        runner.start()
        threading.Thread(target=self._mark_running, args=(h,), daemon=True).start()
        return True

    def _mark_running(self, h: _Held) -> None:
        if h.runner.listening.wait(10) and h.guard.valid():
            self.leases.write(
                h.guard.lease,
                {ChannelRow.state.key: "RUNNING"},
                where=[ChannelRow.state == "STARTING", ChannelRow.desired == "RUNNING"],
            )
