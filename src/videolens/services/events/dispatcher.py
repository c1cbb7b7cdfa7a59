"""Background delivery of the outbox: webhooks and MQTT, retries with exponential back-off, dead letters.

Several processes may dispatch from the same metadata store: a row is claimed by setting
`claimed_until` in one UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so a message is sent by one
dispatcher at a time and a crashed dispatcher's claim simply runs out (at-least-once delivery).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import or_, select, update

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.events import DeliveryRow
from videolens.runtime.settings import Settings
from videolens.services.events.mqtt_publisher import MqttError, MqttPublisher
from videolens.services.events.service import EventsService

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60.0
BATCH = 16
HTTP_TIMEOUT_S = 10.0


class DeliveryDispatcher:
    """`start()` / `stop()` background task of the events capability."""

    def __init__(self, settings: Settings, db: Database, events: EventsService, poll_s: float = 0.5) -> None:
        self.settings = settings
        self.db = db
        self.events = events
        self.poll_s = poll_s
        self.mqtt = MqttPublisher()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._http: httpx.Client | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._http = httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="videolens-delivery")
        self._thread = threading.Thread(target=self._run, name="videolens-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self.events.wake.set()
        self._thread.join(timeout=15)
        self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._http is not None:
            self._http.close()
        self.mqtt.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = self.claim()
            except Exception:  # the store may be briefly unavailable; try again on the next tick
                log.exception("claiming deliveries failed")
                batch = []
            if batch:
                assert self._pool is not None
                list(self._pool.map(self.deliver, batch))
                continue
            self.events.wake.wait(self.poll_s)
            self.events.wake.clear()

    def claim(self) -> list[DeliveryRow]:
        now = time.time()
        # a mark no other dispatcher can pick: it tells our rows apart after the UPDATE
        mark = now + CLAIM_SECONDS + random.random() / 1000
        due = (
            (DeliveryRow.status == "pending")
            & (DeliveryRow.next_attempt_at <= now)
            & or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until < now)
        )
        pick = select(DeliveryRow.delivery_id).where(due).order_by(DeliveryRow.delivery_id).limit(BATCH)
        with self.db.session() as s:
            if self.db.is_sqlite:
                # one statement takes SQLite's write lock up front, so the pick and the claim are atomic
                target = DeliveryRow.delivery_id.in_(pick.scalar_subquery())
            else:
                ids = list(s.scalars(pick.with_for_update(skip_locked=True)))
                if not ids:
                    return []
                target = DeliveryRow.delivery_id.in_(ids)
            s.execute(
                update(DeliveryRow)
                .where(target, due)
                .values(claimed_until=mark)
                .execution_options(synchronize_session=False)
            )
            rows = list(s.scalars(select(DeliveryRow).where(DeliveryRow.claimed_until == mark)))
            for r in rows:
                s.expunge(r)
            return rows

    def deliver(self, row: DeliveryRow) -> None:
        error: str | None = None
        try:
            if row.protocol in ("http", "https"):
                self._post(row)
            elif row.protocol == "mqtt":
                self.mqtt.publish(row.endpoint, row.body)
            else:
                error = f"unknown protocol {row.protocol}"
        except (httpx.HTTPError, MqttError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        except _BadStatus as exc:
            error = str(exc)
        except Exception as exc:  # anything else (httpx.InvalidURL) fails this delivery, not the dispatcher
            log.exception("delivery %s to %s failed unexpectedly", row.delivery_id, row.endpoint)
            error = f"{type(exc).__name__}: {exc}"
        self._record(row, error)

    def _post(self, row: DeliveryRow) -> None:
        assert self._http is not None
        response = self._http.post(row.endpoint, content=row.body.encode(), headers=dict(row.headers or {}))
        if not 200 <= response.status_code < 300:
            raise _BadStatus(f"HTTP {response.status_code} from {row.endpoint}")

    def _record(self, row: DeliveryRow, error: str | None) -> None:
        now = time.time()
        with self.db.session() as s:
            current = s.get(DeliveryRow, row.delivery_id)
            if current is None:
                return
            current.attempts += 1
            current.claimed_until = None
            if error is None:
                current.status = "delivered"
                current.delivered_at = now
                current.last_error = None
                return
            current.last_error = error[:2000]
            if current.attempts >= self.settings.event_max_attempts:
                current.status = "dead"
                log.warning("delivery %s to %s is dead: %s", row.delivery_id, row.endpoint, error)
            else:
                delay = self.settings.event_retry_base_seconds * 2 ** (current.attempts - 1)
                current.next_attempt_at = now + delay


class _BadStatus(Exception):
    pass
