"""Notifications between nodes: Redis pub/sub between two notifiers (two nodes), reconnect after a restart."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from videolens.backends.notify.factory import open_notifier
from videolens.backends.notify.local import LocalNotifier
from videolens.backends.notify.redis_pubsub import RedisNotifier
from videolens.backends.notify.wake import ClusterWake
from videolens.cli.engines import RedisServer


def _collect(notifier: RedisNotifier | LocalNotifier, channel: str) -> queue.Queue[str | None]:
    got: queue.Queue[str | None] = queue.Queue()
    notifier.subscribe(channel, got.put)
    return got


def _connected(*notifiers: RedisNotifier) -> None:
    for n in notifiers:
        assert n.connected.wait(10)


def test_local_notifier_delivers_in_process() -> None:
    n = LocalNotifier()
    got = _collect(n, "streams")
    unsubscribe = n.subscribe("streams", lambda _p: (_ for _ in ()).throw(RuntimeError("bad receiver")))
    n.publish("streams", "s1")
    assert got.get_nowait() == "s1"  # a failing receiver does not stop the others
    unsubscribe()
    n.publish("other", "x")
    assert got.empty()
    assert isinstance(open_notifier(None), LocalNotifier)
    with pytest.raises(ValueError):
        open_notifier("http://nope")


def test_message_on_node_a_reaches_node_b_at_once(private_redis: RedisServer) -> None:
    a, b = RedisNotifier(private_redis.url + "?prefix=t1"), RedisNotifier(private_redis.url + "?prefix=t1")
    other = RedisNotifier(private_redis.url + "?prefix=another-deployment")
    try:
        _connected(a, b, other)
        on_a, on_b, on_other = _collect(a, "streams"), _collect(b, "streams"), _collect(other, "streams")
        t0 = time.monotonic()
        a.publish("streams", "stream-7")
        assert on_b.get(timeout=1) == "stream-7"
        assert time.monotonic() - t0 < 0.5
        assert on_a.get_nowait() == "stream-7"  # the publisher's own receivers, once (no echo)
        time.sleep(0.2)
        assert on_a.empty() and on_other.empty()  # the prefix keeps deployments apart
    finally:
        for n in (a, b, other):
            n.close()


def test_reconnect_after_redis_restart(private_redis: RedisServer) -> None:
    a, b = RedisNotifier(private_redis.url), RedisNotifier(private_redis.url)
    try:
        _connected(a, b)
        on_b = _collect(b, "jobs")
        private_redis.stop()
        a.publish("jobs", "during-outage")  # queued, never raises, never blocks
        assert on_b.empty()
        private_redis.start()  # same port, same data directory
        # b is told to re-check everything once it is back (what was sent meanwhile may be gone)
        deadline = time.monotonic() + 10
        seen: list[str | None] = []
        while time.monotonic() < deadline and None not in seen:
            seen.append(on_b.get(timeout=10))
        assert None in seen and b.reconnects >= 1
        _connected(a, b)
        while not on_b.empty():
            on_b.get_nowait()
        a.publish("jobs", "after")
        assert on_b.get(timeout=2) == "after"
    finally:
        a.close()
        b.close()


def test_cluster_wake_sets_the_event_on_the_other_node(private_redis: RedisServer) -> None:
    a, b = RedisNotifier(private_redis.url), RedisNotifier(private_redis.url)
    try:
        _connected(a, b)
        wake_a, wake_b = ClusterWake(a, "jobs"), ClusterWake(b, "jobs")
        woke = threading.Event()

        def worker_on_b() -> None:
            if wake_b.wait(5):
                woke.set()

        t = threading.Thread(target=worker_on_b)
        t.start()
        wake_a.set()
        t.join(6)
        assert woke.is_set() and wake_a.is_set()
    finally:
        a.close()
        b.close()
