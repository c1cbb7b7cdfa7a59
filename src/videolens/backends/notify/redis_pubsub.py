"""Notifications between nodes over Redis pub/sub, reconnecting with back-off when Redis goes away.

Publishing only enqueues (a sender thread talks to Redis), so ingest never waits on Redis. After a
reconnect every receiver is called with None: messages sent during the outage are gone, so everyone
re-checks the metadata store once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import urllib.parse
import uuid
from collections.abc import Callable

import redis

from videolens.backends.notify.base import Receiver
from videolens.backends.notify.local import ReceiverRegistry

log = logging.getLogger(__name__)

_BACKOFF_MAX_S = 2.0


class RedisNotifier:
    """Channels `<prefix>:<name>` on one Redis (URL `redis://host:port/db?prefix=name`)."""

    def __init__(self, url: str, *, queue_size: int = 10_000) -> None:
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        self.prefix = (query.get("prefix") or ["videolens"])[0] + ":"
        clean = urllib.parse.urlunsplit(parts._replace(query=""))
        self._redis = redis.Redis.from_url(
            clean, socket_timeout=2.0, socket_connect_timeout=1.0, health_check_interval=5
        )
        self.node_id = uuid.uuid4().hex
        self.receivers = ReceiverRegistry()
        self._outbox: queue.Queue[tuple[str, str] | None] = queue.Queue(queue_size)
        self._stop = threading.Event()
        #: set while the listener is subscribed (tests and readiness wait on it)
        self.connected = threading.Event()
        self.reconnects = 0
        self._listener = threading.Thread(target=self._listen, name="notify-listen", daemon=True)
        self._sender = threading.Thread(target=self._send, name="notify-send", daemon=True)
        self._listener.start()
        self._sender.start()

    def publish(self, channel: str, payload: str = "") -> None:
        # this node's receivers at once; the others through Redis (our own echo is skipped)
        self.receivers.deliver(channel, payload)
        try:
            self._outbox.put_nowait((channel, payload))
        except queue.Full:
            log.warning("notification queue full; dropping a %s message", channel)

    def subscribe(self, channel: str, receiver: Receiver) -> Callable[[], None]:
        return self.receivers.add(channel, receiver)

    def _send(self) -> None:
        backoff = 0.05
        #: channel → newest payload not sent yet (during an outage, older wake-ups add nothing)
        pending: dict[str, str] = {}
        while not self._stop.is_set():
            if not pending:
                item = self._outbox.get()
                if item is None:
                    return
                pending[item[0]] = item[1]
            try:
                for channel in list(pending):
                    message = json.dumps({"n": self.node_id, "p": pending[channel]})
                    self._redis.publish(self.prefix + channel, message)
                    del pending[channel]
                backoff = 0.05
            except redis.RedisError as exc:
                log.debug("notification not sent (%s); retrying", exc)
                self._stop.wait(backoff)
                backoff = min(_BACKOFF_MAX_S, backoff * 2)
                self._drain_into(pending)

    def _drain_into(self, pending: dict[str, str]) -> None:
        try:
            while True:
                item = self._outbox.get_nowait()
                if item is None:
                    self._stop.set()
                    return
                pending[item[0]] = item[1]
        except queue.Empty:
            return

    def _listen(self) -> None:
        backoff = 0.05
        first = True
        while not self._stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(self.prefix + "*")
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if not self.connected.is_set():
                        self.connected.set()
                        backoff = 0.05
                        if not first:
                            self.reconnects += 1
                            log.info("notifications: reconnected to Redis")
                            self.receivers.deliver_all(None)
                        first = False
                    if message is None or message.get("type") != "pmessage":
                        continue
                    self._dispatch(message)
            except (redis.RedisError, OSError) as exc:
                if self.connected.is_set():
                    log.warning("notifications: lost Redis (%s); reconnecting", exc)
                self.connected.clear()
                self._stop.wait(backoff)
                backoff = min(_BACKOFF_MAX_S, backoff * 2)
            finally:
                # closing a broken connection may fail again
                with contextlib.suppress(Exception):
                    pubsub.close()

    def _dispatch(self, message: dict[str, object]) -> None:
        channel = message["channel"]
        data = message["data"]
        name = (channel.decode() if isinstance(channel, bytes) else str(channel))[len(self.prefix) :]
        try:
            doc = json.loads(data.decode() if isinstance(data, bytes) else str(data))
        except ValueError:
            return
        if doc.get("n") == self.node_id:
            return
        self.receivers.deliver(name, str(doc.get("p", "")))

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._outbox.put_nowait(None)
        self._listener.join(timeout=3)
        self._sender.join(timeout=3)
        self._redis.close()
