"""A threading.Event whose set() also sets the same-named event on every other node (through a notifier)."""

from __future__ import annotations

import threading

from videolens.backends.notify.base import Notifier


class ClusterWake(threading.Event):
    """Drop-in for a service's `wake` event: workers on every node wake when any node has new work."""

    def __init__(self, notifier: Notifier, channel: str) -> None:
        super().__init__()
        self._notifier = notifier
        self._channel = channel
        notifier.subscribe(channel, lambda _payload: super(ClusterWake, self).set())

    def set(self) -> None:
        super().set()
        self._notifier.publish(self._channel)
