"""Picks the notifier of a process: in-process only (one node), or Redis pub/sub between nodes."""

from __future__ import annotations

from videolens.backends.notify.base import Notifier
from videolens.backends.notify.local import LocalNotifier


def open_notifier(redis_url: str | None) -> Notifier:
    if not redis_url:
        return LocalNotifier()
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"unsupported notification URL {redis_url!r} (expected redis://host:port/db)")
    from videolens.backends.notify.redis_pubsub import RedisNotifier

    return RedisNotifier(redis_url)
