"""One pull source: read a camera URL (RTSP, RTMP, file) with PyAV, ingest it, reconnect with back-off."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import av

from videolens.services.streams.ingest import IngestSession

log = logging.getLogger(__name__)

#: socket/read timeouts while pulling, seconds
OPEN_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0


@dataclass
class PullStatus:
    stream: str
    url: str
    state: str = "starting"  # starting | listening | connected | waiting | stopped
    listen: bool = False
    sessions: int = 0
    fragments: int = 0
    reconnects: int = 0
    last_error: str | None = None
    errors: list[str] = field(default_factory=list)
    #: the process holding the pull's lease (None: nobody, it waits to be taken over)
    owner: str | None = None


class _SessionSink:
    """The file object PyAV's Matroska muxer writes to: bytes go straight into the ingest session."""

    def __init__(self, session: IngestSession) -> None:
        self.session = session

    def write(self, data: bytes) -> int:
        self.session.feed(bytes(data))
        return len(data)


class PullSource:
    """One pulled camera: a daemon thread that keeps one ingest session open per connection."""

    def __init__(
        self,
        open_session: Callable[[], Any],
        stream: str,
        url: str,
        *,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 10.0,
        listen: bool = False,
        keep_lease: Callable[[], bool] | None = None,
        renew_every_s: float = 10.0,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.open_session = open_session
        self.status = PullStatus(stream, url, listen=listen)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        # the pull's own thread renews its lease, so a wedged pull loses it and another process takes over
        self.keep_lease = keep_lease
        self.renew_every_s = renew_every_s
        self.on_lost = on_lost
        self._next_renew = time.monotonic() + renew_every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pull-{stream}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        self.status.state = "stopped"

    def _lease_held(self) -> bool:
        """Renew the lease when due; False (and the pull stops) once the row is gone or taken over."""
        if self.keep_lease is None or time.monotonic() < self._next_renew:
            return True
        try:
            held = self.keep_lease()
        except Exception as exc:  # noqa: BLE001 - store unreachable: keep pulling, try again soon
            self._error(exc)
            held = True
        self._next_renew = time.monotonic() + self.renew_every_s
        if not held:
            log.info("pull %s of %s: lease lost, stopping", self.status.url, self.status.stream)
            self._stop.set()
            self.status.state = "stopped"
            if self.on_lost is not None:
                self.on_lost()
        return held

    @contextlib.contextmanager
    def _renewing(self) -> Iterator[None]:
        """Keep renewing the lease from a helper thread while the pull's own thread is blocked in an open
        (bounded by the open timeouts); a lost lease still stops the pull."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.renew_every_s / 2) and not self._stop.is_set():
                if not self._lease_held():
                    return

        helper = threading.Thread(target=renew, name=f"pull-renew-{self.status.stream}", daemon=True)
        helper.start()
        try:
            yield
        finally:
            done.set()
            helper.join()

    def _pause(self, seconds: float) -> None:
        """The back-off wait, renewing the lease meanwhile."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and self._lease_held():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, self.renew_every_s))

    def _run(self) -> None:
        delay = self.backoff_initial_s
        while not self._stop.is_set() and self._lease_held():
            try:
                stored = self._pull_once()
            except (av.error.ExitError, TimeoutError) as exc:
                if self.status.listen and self.status.state == "listening":
                    continue  # nobody published within the open timeout: listen again
                stored = 0
                self._error(exc)
            except Exception as exc:  # noqa: BLE001 - any failure means: wait, then reconnect
                stored = 0
                self._error(exc)
            if self._stop.is_set():
                break
            # a connection that produced fragments was healthy: start the back-off afresh
            delay = self.backoff_initial_s if stored else min(delay * 2, self.backoff_max_s)
            self.status.state = "waiting"
            self.status.reconnects += 1
            self._pause(delay)

    def _error(self, exc: Exception) -> None:
        self.status.last_error = f"{type(exc).__name__}: {exc}"
        self.status.errors = (self.status.errors + [self.status.last_error])[-10:]
        log.info("pull %s: %s", self.status.url, self.status.last_error)

    def _pull_once(self) -> int:
        options = {"rtsp_transport": "tcp"} if self.status.url.startswith("rtsp") else {}
        if self.status.listen:
            # listen mode: ffmpeg's protocol server (rtmp://, rtsp://, tcp://...) waits for one publisher;
            # a short open timeout keeps stop() responsive, the loop simply listens again
            options["listen"] = "1"
            self.status.state = "listening"
        with self._renewing():  # connecting may take several socket timeouts on a busy camera or host
            source = av.open(self.status.url, "r", options=options, timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
        with source, self.open_session() as session:
            self.status.state = "connected"
            self.status.sessions += 1
            sink = _SessionSink(session)
            target = av.open(sink, "w", format="matroska")
            mapping = {}
            for stream in source.streams:
                if stream.type in ("video", "audio"):
                    mapping[stream.index] = target.add_stream_from_template(stream)
            origin: dict[int, int] = {}
            try:
                for packet in source.demux(*[source.streams[i] for i in mapping]):
                    if self._stop.is_set() or session.failed or not self._lease_held():
                        break
                    if packet.dts is None or packet.size == 0:
                        continue
                    # the session's producer start is "now": timestamps count from the first packet
                    first = origin.setdefault(packet.stream.index, packet.dts)
                    packet.dts -= first
                    if packet.pts is not None:
                        packet.pts -= first
                    packet.stream = mapping[packet.stream.index]
                    target.mux(packet)
            finally:
                with contextlib.suppress(av.error.FFmpegError):
                    target.close()
                session.finish()
                self.status.fragments += session.persisted_count
            if self.status.state == "connected":
                self.status.state = "waiting"
            return session.persisted_count
