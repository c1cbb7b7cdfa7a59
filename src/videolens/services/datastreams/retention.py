"""Background task that trims data-stream records past their stream's retention period."""

from __future__ import annotations

import logging
import threading

from videolens.services.datastreams.service import DataStreamsService

log = logging.getLogger(__name__)


class DataStreamRetention:
    """Runs DataStreamsService.trim_expired() every `interval_s` on a daemon thread."""

    def __init__(self, service: DataStreamsService, interval_s: float = 60.0) -> None:
        self.service = service
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="datastreams-retention", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.service.trim_expired()
            except Exception:  # noqa: BLE001 - a failed trim is retried on the next tick
                log.exception("data-stream retention failed")
