"""Background sweeper that deletes fragments past their stream's retention."""

from __future__ import annotations

import logging
import threading

from videolens.services.streams.service import StreamsService

log = logging.getLogger(__name__)


class RetentionSweeper:
    """Runs StreamsService.sweep() every `interval_s` on a daemon thread (start/stop per BackgroundTask)."""

    def __init__(self, service: StreamsService, interval_s: float = 60.0) -> None:
        self.service = service
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="streams-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                removed = self.service.sweep()
                if removed:
                    log.info("retention removed %d fragments", removed)
            except Exception:  # noqa: BLE001 - a failed sweep is retried on the next tick
                log.exception("retention sweep failed")
