"""Notifications between the nodes of a deployment: small "something changed" messages on named channels.

They only wake: every receiver re-reads the source of truth (the metadata store) when woken, so a
message lost (a node restarting, Redis down) costs latency until the next poll, never correctness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

#: a receiver gets the message's payload (a short string), or None after a reconnect: "re-check all"
Receiver = Callable[[str | None], None]


class Notifier(Protocol):
    def publish(self, channel: str, payload: str = "") -> None:
        """Send to every node (this one included); never blocks the caller for long."""
        ...

    def subscribe(self, channel: str, receiver: Receiver) -> Callable[[], None]:
        """Call `receiver` for each message on `channel`; returns unsubscribe()."""
        ...

    def close(self) -> None: ...
