"""A writer thread: runs a handler on queued items in order (the transcoder's encode + mux stage).

The queue is bounded by what its items weigh: a decoded frame weighs 1 and `depth` of them may wait,
so a slow encoder back-pressures decoding instead of growing memory, while items that weigh nothing
(the copied audio packets, a few hundred bytes each) never make the producer wait for the encoder
(they are bounded by the producer, which only runs ahead as far as the frames let it). The first
error of the handler (a failed mux, a stop request raised by a progress callback) is raised in the
producer's thread at its next `put` or at `close`, with its type intact.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class OrderedWriter:
    """Runs `handle` on queued items in one thread, in order; its first error is raised in the caller."""

    def __init__(
        self, handle: Callable[[tuple[str, object]], None], depth: int = 8, name: str = "encode"
    ) -> None:
        self._handle = handle
        self._queue: queue.Queue[tuple[tuple[str, object], int] | None] = queue.Queue()
        self._slots = threading.Semaphore(max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            entry = self._queue.get()
            if entry is None:
                return
            item, weight = entry
            try:
                if self._error is None:  # else drain: the producer learns of the error on its next put
                    self._handle(item)
            except BaseException as exc:  # raised in the producer's thread
                self._error = exc
            finally:
                for _ in range(weight):
                    self._slots.release()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: tuple[str, object], weight: int = 1) -> None:
        """Queue `item`; waits while `depth` weight units are queued (weight 0: never waits)."""
        for _ in range(weight):
            while not self._slots.acquire(timeout=0.1):
                self._check()
        self._check()
        self._queue.put((item, weight))

    def close(self) -> None:
        """Wait until everything queued is written; raise the first error."""
        self._queue.put(None)
        self._thread.join()
        self._check()

    def shutdown(self) -> None:
        """Stop after an error in the producer (the queued items are dropped)."""
        self._error = self._error or RuntimeError("the transcode was abandoned")
        self._queue.put(None)
        self._thread.join()
