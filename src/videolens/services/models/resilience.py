"""Calling a remote model safely: timeouts, retries with back-off, and a circuit breaker (httpx).

Guarantees: a call takes at most about (retries + 1) x timeout + the back-off sleeps; connection
failures, timeouts and 429 / 5xx answers are retried (an inference is a pure function of its input, so
repeating it is safe), 4xx answers are not. After `failure_threshold` consecutive failed calls the
breaker opens: calls fail at once with ModelUnavailableError for `reset_s`, then one trial call
(half-open) decides whether it closes again. Client errors (4xx) never open it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from pydantic import BaseModel, Field

from videolens.services.models.errors import ModelError, ModelTimeoutError, ModelUnavailableError

_RETRY_STATUSES = {429, 500, 502, 503, 504}


class RemoteSettings(BaseModel):
    """The resilience fields every remote kind accepts (http, kserve)."""

    timeout_s: float = Field(default=20.0, gt=0, le=600)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=0.2, ge=0, le=60)
    breaker_failures: int = Field(default=5, ge=1, le=1000)
    breaker_reset_s: float = Field(default=30.0, gt=0, le=3600)


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after reset_s → closed on one success."""

    def __init__(self, failure_threshold: int, reset_s: float, clock: Callable[[], float] = time.monotonic):
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self.clock() - self._opened_at >= self.reset_s else "open"

    def before_call(self) -> None:
        with self._lock:
            if self._opened_at is None:
                return
            waited = self.clock() - self._opened_at
            if waited < self.reset_s or self._trial_running:
                left = max(0.0, self.reset_s - waited)
                raise ModelUnavailableError(
                    f"circuit breaker open after {self._failures} consecutive failures; "
                    f"next trial call in {left:.1f} s"
                )
            self._trial_running = True  # half-open: this call is the one trial

    def record(self, ok: bool) -> None:
        with self._lock:
            self._trial_running = False
            if ok:
                self._failures = 0
                self._opened_at = None
                return
            self._failures += 1
            if self._opened_at is not None or self._failures >= self.failure_threshold:
                self._opened_at = self.clock()


@dataclass
class RemoteAnswer:
    status: int
    content_type: str
    body: bytes


class ResilientClient:
    """One httpx client per remote model, shared by its concurrent calls (httpx clients are thread-safe)."""

    def __init__(self, settings: RemoteSettings, max_connections: int, label: str) -> None:
        self.settings = settings
        self.label = label
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.Client(timeout=settings.timeout_s, limits=limits, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def request(
        self, method: str, url: str, *, content: bytes | None = None, headers: dict[str, str] | None = None
    ) -> RemoteAnswer:
        """The answer of the first attempt that is not retryable; raises a typed model error otherwise."""
        self.breaker.before_call()
        try:
            answer = self._attempts(method, url, content, headers or {})
        except ModelError as exc:
            # a client error is the caller's fault, not a sign the model is down
            client_side = exc.original_status is not None and 400 <= exc.original_status < 500
            self.breaker.record(client_side and exc.original_status != 429)
            raise
        self.breaker.record(True)
        return answer

    def _attempts(
        self, method: str, url: str, content: bytes | None, headers: dict[str, str]
    ) -> RemoteAnswer:
        s = self.settings
        last: ModelError | None = None
        for attempt in range(s.retries + 1):
            if attempt:
                time.sleep(s.backoff_s * (2 ** (attempt - 1)))
            try:
                response = self._client.request(method, url, content=content, headers=headers)
            except httpx.TimeoutException:
                last = ModelTimeoutError(
                    f"{self.label}: no answer within {s.timeout_s:g} s ({attempt + 1} tries)"
                )
                continue
            except httpx.HTTPError as exc:
                last = ModelError(f"{self.label}: cannot reach {url}: {_reason(exc)}")
                continue
            content_type = response.headers.get("content-type", "application/octet-stream")
            if response.status_code < 400:
                return RemoteAnswer(response.status_code, content_type, response.content)
            last = ModelError(
                f"{self.label}: the model answered {response.status_code}: {_snippet(response.content)}",
                original_status=response.status_code,
            )
            if response.status_code not in _RETRY_STATUSES:
                break
        assert last is not None
        raise last


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _snippet(body: bytes, limit: int = 300) -> str:
    text = body[:limit].decode("utf-8", "replace").strip()
    return text or "(empty body)"
