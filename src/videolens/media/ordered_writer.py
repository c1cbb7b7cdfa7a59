"""A writer thread: runs a handler on queued items in order (the transcoder's encode + mux stage).

The queue is bounded, so a slow encoder back-pressures decoding instead of growing memory; the first
error of the handler (a failed mux, a stop request raised by a progress callback) is raised in the
producer's thread at its next `put` or at `close`, with its type intact.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class OrderedWriter:
    """Runs `handle` on queued items in one thread, in order; its first error is raised in the caller."""

    def __init__(self, handle: Callable[[tuple[str, object]], None], depth: int = 8) -> None:
        self._handle = handle
        self._queue: queue.Queue[tuple[str, object] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="encode", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain: the producer learns of the error on its next put
            try:
                self._handle(item)
            except BaseException as exc:  # raised in the producer's thread
                self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: tuple[str, object]) -> None:
        while True:
            self._check()
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait until everything queued is written; raise the first error."""
        self._queue.put(None)
        self._thread.join()
        self._check()

    def shutdown(self) -> None:
        """Stop after an error in the producer (the queued items are dropped)."""
        self._error = self._error or RuntimeError("the transcode was abandoned")
        while True:
            try:
                self._queue.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join()
