"""Brute-force brake: too many failed authentications from one address within a window → 429.

The limit (default 10 failures in 60 s, `VIDEOLENS_AUTH_FAILURE_LIMIT` /
`VIDEOLENS_AUTH_FAILURE_WINDOW_SECONDS`) counts bearer, SigV4 and signed-URL failures alike. While an
address is over it, every request from it that needs a credential is answered 429 with Retry-After,
until its oldest counted failure leaves the window. State is per process and bounded: at most
`max_addresses` addresses are tracked (the least recently failing are forgotten first), each with at
most `limit` timestamps.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureLimiter:
    def __init__(
        self,
        limit: int = 10,
        window_s: float = 60.0,
        *,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_addresses = max_addresses
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _prune(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def retry_after(self, address: str) -> int | None:
        """Seconds the address must wait (>= 1), or None when it may try now."""
        with self._lock:
            now = self._clock()
            times = self._prune(address, now)
            if times is None or len(times) < self.limit:
                return None
            return max(1, math.ceil(times[0] + self.window_s - now))

    def record_failure(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            times = self._prune(address, now)
            if times is None:
                times = self._failures[address] = deque(maxlen=self.limit)
                while len(self._failures) > self.max_addresses:
                    self._failures.popitem(last=False)
            else:
                self._failures.move_to_end(address)
            times.append(now)
