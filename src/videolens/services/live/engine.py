"""The live-analysis engine: workers take one lease per running processor and tail its input stream.

Guarantees (docs/live.md):
- one holder per processor: the lease `stream-processor/<name>` (backends/leases, fencing tokens);
  every checkpoint is fenced, so a worker that stalled and was taken over writes nothing more;
- at-least-once per fragment: a fragment's records are published (durable in the data stream) before
  its number is checkpointed; a successor resumes after the checkpoint, so only the fragment in flight
  when a worker died is analysed twice (its records carry the same FragmentNumber: de-duplicate on it);
- fail-over within processor_lease_seconds + processor_poll_seconds of the last renewal;
- back-pressure: fragments are read back from storage one at a time, never queued in memory; the lag
  policy `live` jumps to the newest fragment and counts the skipped ones;
- a fragment persisted in this process wakes its processors at once (no poll delay); one persisted by
  another process is seen within processor_poll_seconds;
- every engine holds a heartbeat lease `live-worker/<owner>` while it runs, so the service can say
  whether any worker is alive to take a STARTING processor.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any, Protocol

from videolens.backends.leases import Lease, LeaseStore
from videolens.runtime import metrics
from videolens.runtime.settings import Settings
from videolens.services.datastreams.models import PutRecordInput
from videolens.services.datastreams.service import DataStreamsService
from videolens.services.errors import NotFoundError, VideolensError
from videolens.services.live.models import ProcessorInfo
from videolens.services.live.registry import FragmentAnalyzer, ProcessorKinds
from videolens.services.live.service import lease_key, worker_lease_key
from videolens.services.streams.models import FragmentInfo
from videolens.services.streams.service import StreamsService

log = logging.getLogger(__name__)
BATCH = 16
PUT_BATCH = 500


class WorkSource(Protocol):
    """What an engine runs: ProcessorsService (processors) or the analyzers' (analyzer, stream) units."""

    kinds: ProcessorKinds

    def runnable(self) -> list[ProcessorInfo]: ...

    def stopping(self) -> list[str]: ...

    def describe(self, name: str) -> ProcessorInfo: ...

    def mark(self, name: str, session: str | None, **values: Any) -> bool: ...

    def add_counts(
        self, name: str, session: str, *, done: int, skipped: int, records: int, lag: int
    ) -> None: ...

    def requeue(self, name: str, session: str) -> None: ...

    def prune_worker_heartbeats(self, older_than_s: float = 3600.0) -> int: ...


class LiveEngine:
    """One per process (serve, jobs worker, processors worker): runs the processors it holds leases of."""

    def __init__(
        self,
        settings: Settings,
        processors: WorkSource,
        streams: StreamsService,
        datastreams: DataStreamsService,
        leases: LeaseStore,
        owner: str | None = None,
        heartbeat: bool = True,
    ) -> None:
        self.settings = settings
        #: whether this engine's heartbeat lease tells Describe "a processors worker is running" (the
        #: analyzers' engine runs no stream processor, so it must not say so)
        self.announces_worker = heartbeat
        self.processors = processors
        self.streams = streams
        self.datastreams = datastreams
        self.leases = leases
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll = settings.processor_poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runners: dict[str, _Runner] = {}
        self._heartbeat: Lease | None = None
        self._leases_held = metrics.PROCESSOR_LEASES_HELD.labels(self.owner)

    def start(self) -> None:
        if self.settings.processor_slots == 0 or self._thread is not None:
            return
        self._stop.clear()
        try:
            self.processors.prune_worker_heartbeats()
        except Exception:  # housekeeping: a busy database must not keep the engine from starting
            log.exception("could not prune old worker heartbeats")
        if self.announces_worker:
            self._heartbeat = self.leases.take(worker_lease_key(self.owner), self.owner)
        self._thread = threading.Thread(target=self._loop, name="live-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        for runner in list(self._runners.values()):
            runner.stop.set()
        for runner in list(self._runners.values()):
            runner.thread.join(10)
        self._runners.clear()
        self._leases_held.set(0)
        if self._heartbeat is not None:
            self.leases.release(self._heartbeat)
            self._heartbeat = None

    def stopping(self) -> bool:
        return self._stop.is_set()

    def running(self) -> list[str]:
        return [name for name, r in self._runners.items() if r.thread.is_alive()]

    # ---------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        last_renew = 0.0
        while not self._stop.is_set():
            try:
                self._reap()
                if time.monotonic() - last_renew > self.leases.lease_seconds / 3:
                    self._renew()
                    last_renew = time.monotonic()
                self._take()
                self._settle_stopping()
            except Exception:  # the loop outlives a database hiccup; the runners keep their leases
                log.exception("live engine pass failed")
            self._stop.wait(self.poll)

    def _reap(self) -> None:
        for name, runner in list(self._runners.items()):
            if not runner.thread.is_alive():
                del self._runners[name]
        self._leases_held.set(len(self._runners))

    def _renew(self) -> None:
        if self._heartbeat is not None and not self.leases.renew(self._heartbeat):
            self._heartbeat = self.leases.take(worker_lease_key(self.owner), self.owner)
        for runner in list(self._runners.values()):
            if not self.leases.renew(runner.lease):
                runner.lost.set()
                runner.stop.set()

    def _take(self) -> None:
        for info in self.processors.runnable():
            if info.name in self._runners or len(self._runners) >= self.settings.processor_slots:
                continue
            lease = self.leases.take(lease_key(info.name), self.owner)
            if lease is None:
                continue
            runner = _Runner(self, info, lease)
            self._runners[info.name] = runner
            runner.thread.start()
        self._leases_held.set(len(self._runners))

    def _settle_stopping(self) -> None:
        """A processor asked to stop whose holder died stops once its lease is free."""
        now = time.time()
        for name in self.processors.stopping():
            if name in self._runners:
                continue
            state = self.leases.read(lease_key(name))
            if state is None or not state.held(now):
                self.processors.mark(name, None, status="STOPPED")

    # ---------------------------------------------------------------------------------------------
    def publish(self, info: ProcessorInfo, records: list[bytes]) -> None:
        """Durable in the output stream on return; retried while a shard is over its limit."""
        arn = info.output_arn
        if arn is None or not records:
            return
        pending = [PutRecordInput(data, info.name) for data in records]
        delay = 0.05
        while pending:
            batch, rest = pending[:PUT_BATCH], pending[PUT_BATCH:]
            results = self.datastreams.put_records(batch, arn=arn)
            failed = [rec for rec, res in zip(batch, results, strict=True) if res.error_code]
            pending = failed + rest
            if failed:
                metrics.PROCESSOR_ERRORS.labels(info.name, "publish-throttled").inc()
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


class _Runner:
    """One processor session on this worker: tail → analyse → publish → checkpoint, under the lease."""

    def __init__(self, engine: LiveEngine, info: ProcessorInfo, lease: Lease) -> None:
        self.engine = engine
        self.info = info
        self.lease = lease
        self.stop = threading.Event()
        self.lost = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"processor-{info.name}", daemon=True)
        name = info.name
        self.m_done = metrics.PROCESSOR_FRAGMENTS_PROCESSED.labels(name)
        self.m_skipped = metrics.PROCESSOR_FRAGMENTS_SKIPPED.labels(name)
        self.m_lag = metrics.PROCESSOR_LAG_MS.labels(name)
        self.m_publish = metrics.PROCESSOR_PUBLISH_LATENCY.labels(name)

    def _run(self) -> None:
        engine, info = self.engine, self.info
        session = info.session_id or ""
        try:
            self._session(session)
        except Exception as exc:  # an unexpected failure fails the processor, visibly
            log.exception("stream processor %s failed", info.name)
            metrics.PROCESSOR_ERRORS.labels(info.name, "failed").inc()
            engine.processors.mark(
                info.name, session, status="FAILED", status_message=str(exc), desired="STOPPED"
            )
        finally:
            if not self.lost.is_set():
                if engine.stopping():
                    # the worker shuts down, nobody asked the processor to stop: it waits for the next
                    # worker (STARTING, honestly) instead of claiming to run
                    engine.processors.requeue(info.name, session)
                engine.leases.release(self.lease)

    def _position(self, session: str) -> tuple[str | None, bool]:
        """(fragment number, inclusive): after the checkpoint of this session, else the start point."""
        state = self.engine.leases.read(self.lease.key)
        if state is not None and state.checkpoint and state.checkpoint.startswith(session + ":"):
            return state.checkpoint.split(":", 1)[1], False
        start = self.info.start_after
        if start is None:
            return None, False
        how, number = start.split(":", 1)
        return number, how == "from"

    def _end(self, analyzer: FragmentAnalyzer, reason: str) -> None:
        """The session ends for good (not a fail-over): kinds with an `end(reason)` hook hear it."""
        end = getattr(analyzer, "end", None)
        if end is not None:
            try:
                end(reason)
            except Exception:  # the end-of-session message is best effort; the status is not
                log.exception("stream processor %s: end-of-session hook failed", self.info.name)

    def _session(self, session: str) -> None:
        engine, info = self.engine, self.info
        processors, streams = engine.processors, engine.streams
        after, inclusive = self._position(session)
        if not processors.mark(info.name, session, status="RUNNING", status_message=None):
            return
        kind = processors.kinds.get(info.kind)
        analyzer = kind.open(info, lambda records: engine.publish(info, records))
        max_s = ((info.definition.get("StopSelector") or {}) or {}).get("MaxDurationInSeconds")
        first_ts: float | None = None
        try:
            while not self.stop.is_set():
                current = processors.describe(info.name)
                if current.session_id != session or current.desired != "RUNNING":
                    if current.session_id == session:
                        self._end(analyzer, "STOPPED_BY_USER")
                        processors.mark(info.name, session, status="STOPPED")
                    return
                generation = streams.change_generation()
                try:
                    batch = streams.fragments_after(
                        after, arn=info.input_arn, limit=BATCH, inclusive=inclusive
                    )
                except NotFoundError as exc:
                    metrics.PROCESSOR_ERRORS.labels(info.name, "input-unreadable").inc()
                    self._end(analyzer, "FAILED")
                    processors.mark(
                        info.name,
                        session,
                        status="FAILED",
                        desired="STOPPED",
                        status_message=f"the input stream cannot be read: {exc}",
                    )
                    return
                if not batch:
                    self.m_lag.set(0)
                    streams.wait_for_fragment(engine.poll, since=generation)
                    continue
                skipped = 0
                if info.lag_policy == "live" and len(batch) > 1:
                    skipped, batch = len(batch) - 1, batch[-1:]
                for i, fragment in enumerate(batch):
                    if self.stop.is_set():
                        return
                    try:
                        data = streams.read_fragment(fragment)
                    except NotFoundError:  # expired before we got to it
                        skipped += 1
                        continue
                    n = analyzer.process(fragment, data)
                    self.m_publish.observe(max(0.0, time.time() - fragment.server_ts))
                    if not engine.leases.checkpoint(self.lease, f"{session}:{fragment.fragment_number}"):
                        self.lost.set()  # taken over: the successor owns the checkpoint from now on
                        return
                    after, inclusive = fragment.fragment_number, False
                    processors.add_counts(
                        info.name, session, done=1, skipped=skipped, records=n, lag=len(batch) - i - 1
                    )
                    self.m_done.inc()
                    self.m_skipped.inc(skipped)
                    self._lag(fragment)
                    skipped = 0
                    first_ts = fragment.producer_ts if first_ts is None else first_ts
                    if max_s and fragment.end_producer_ts - first_ts >= float(max_s):
                        self._end(analyzer, "MAX_DURATION_REACHED")
                        processors.mark(info.name, session, status="STOPPED", desired="STOPPED")
                        return
                if skipped:
                    self.m_skipped.inc(skipped)
                    processors.add_counts(info.name, session, done=0, skipped=skipped, records=0, lag=0)
        except VideolensError as exc:
            metrics.PROCESSOR_ERRORS.labels(info.name, "failed").inc()
            self._end(analyzer, "FAILED")
            processors.mark(info.name, session, status="FAILED", desired="STOPPED", status_message=str(exc))
        finally:
            analyzer.close()

    def _lag(self, done: FragmentInfo) -> None:
        """Newest fragment's server time - the one just finished (ms); a cheap indexed read."""
        try:
            latest = self.engine.streams.latest_fragment(arn=self.info.input_arn)
        except NotFoundError:  # deleted meanwhile: the next read fails the processor with a message
            return
        behind = 0.0 if latest is None else max(0.0, latest.server_ts - done.server_ts)
        self.m_lag.set(round(behind * 1000))
