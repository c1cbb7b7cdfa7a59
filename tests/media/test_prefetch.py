"""media.prefetch: items in order, bounded look-ahead, the producer's error raised in the consumer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from videolens.media.prefetch import Prefetch


def test_items_arrive_in_order_and_the_end_is_final() -> None:
    with Prefetch(iter(range(100)), depth=4) as items:
        assert list(items) == list(range(100))
        assert list(items) == []


def test_the_producer_runs_at_most_depth_items_ahead() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for i in range(50):
            produced.append(i)
            yield i

    items = Prefetch(source(), depth=3)
    try:
        assert next(items) == 0
        time.sleep(0.3)
        # one handed out, three queued, one waiting to be queued
        assert len(produced) <= 5
    finally:
        items.close()


def test_an_error_of_the_source_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("bad packet")

    got: list[int] = []
    with Prefetch(source(), depth=8) as items, pytest.raises(ValueError, match="bad packet"):
        for item in items:
            got.append(item)
    assert got == [1, 2]


def test_close_stops_a_producer_that_would_run_forever() -> None:
    def forever() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    items = Prefetch(forever(), depth=2, name="endless")
    assert next(items) == 0
    items.close()
    assert not any(t.name == "endless" for t in threading.enumerate())
