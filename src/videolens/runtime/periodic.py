"""A background task that calls one function every few seconds on a daemon thread (sweepers, retention).

`start`/`stop` make it a container BackgroundTask. A failing round is logged and retried on the next
tick: a sweeper must never die of one bad row, and stopping waits at most `join_s` for a round in flight.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    """Runs `work()` every `interval_s`; a positive count it returns is logged as `what` removed."""

    def __init__(
        self, name: str, interval_s: float, work: Callable[[], int | None], *, what: str = "items"
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.work = work
        self.what = what
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, join_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=join_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                done = self.work()
                if done:
                    log.info("%s removed %d %s", self.name, done, self.what)
            except Exception:  # a failed round is retried on the next tick
                log.exception("%s failed", self.name)
