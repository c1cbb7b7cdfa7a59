"""Notifications within one process (the embedded default): receivers are called in the publisher's thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from videolens.backends.notify.base import Receiver

log = logging.getLogger(__name__)


class ReceiverRegistry:
    """Channel → receivers, shared by the notifiers; a failing receiver does not stop the others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._receivers: dict[str, list[Receiver]] = {}

    def add(self, channel: str, receiver: Receiver) -> Callable[[], None]:
        with self._lock:
            self._receivers.setdefault(channel, []).append(receiver)

        def remove() -> None:
            with self._lock:
                if receiver in self._receivers.get(channel, []):
                    self._receivers[channel].remove(receiver)

        return remove

    def deliver(self, channel: str, payload: str | None) -> None:
        with self._lock:
            receivers = list(self._receivers.get(channel, []))
        for receiver in receivers:
            try:
                receiver(payload)
            except Exception:
                log.exception("receiver of %s failed", channel)

    def deliver_all(self, payload: str | None) -> None:
        with self._lock:
            channels = list(self._receivers)
        for channel in channels:
            self.deliver(channel, payload)


class LocalNotifier:
    def __init__(self) -> None:
        self.receivers = ReceiverRegistry()

    def publish(self, channel: str, payload: str = "") -> None:
        self.receivers.deliver(channel, payload)

    def subscribe(self, channel: str, receiver: Receiver) -> Callable[[], None]:
        return self.receivers.add(channel, receiver)

    def close(self) -> None:
        pass
