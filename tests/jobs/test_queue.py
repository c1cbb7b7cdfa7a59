"""The durable job queue on SQLite and PostgreSQL: exclusive claims, leases, fencing, cancel, idempotency."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.services.errors import IdempotencyMismatchError, InvalidObjectError, NotFoundError
from videolens.services.jobs.queue import MAX_ATTEMPTS, JobQueue
from videolens.services.video_analysis.face_pipeline import ResultEntry
from videolens.vision.models import ModelRegistry


@pytest.fixture
def store(any_db_settings: Settings, models: ModelRegistry) -> Iterator[Container]:
    c = Container(any_db_settings, models=models)  # background workers are not started
    c.storage.create_bucket("bkt")
    c.storage.put_object_bytes("bkt", "v.mp4", b"not really a video")
    yield c
    c.close()


def test_concurrent_claims_are_exclusive(store: Container) -> None:
    ids = {store.jobs.start("face-detection", "bkt", "v.mp4").job_id for _ in range(24)}
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        queue = JobQueue(store.db, lease_seconds=60)
        while (got := queue.claim(f"w{n}")) is not None:
            with lock:
                claimed.append(got[0])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(claimed) == Counter(ids)  # each job exactly once


def test_expired_lease_is_taken_over_and_the_old_worker_is_fenced(store: Container) -> None:
    job = store.jobs.start("face-detection", "bkt", "v.mp4")
    short = JobQueue(store.db, lease_seconds=0.3)
    first = short.claim("dead")
    assert first is not None and first[0] == job.job_id
    assert short.claim("other") is None  # still leased
    assert short.heartbeat(job.job_id, first[1], 40.0)
    time.sleep(0.5)
    second = short.claim("alive")
    assert second is not None and second[0] == job.job_id and second[1] != first[1]
    assert store.jobs.get(job.job_id).attempts == 2
    assert store.jobs.get(job.job_id).progress == 40.0
    # the first worker wakes up: it can neither heartbeat nor write results any more
    assert not short.heartbeat(job.job_id, first[1], 90.0)
    entry = ResultEntry(0, None, {"timestamp_ms": 0})
    assert not short.succeed(job.job_id, first[1], [entry], None, None)
    assert short.succeed(job.job_id, second[1], [entry, entry], {"codec": "h264"}, None)
    done = store.jobs.get(job.job_id)
    assert done.status == "SUCCEEDED" and done.result_count == 2 and done.progress == 100.0
    assert not short.fail(job.job_id, second[1], "late")


def test_jobs_whose_workers_keep_dying_fail(store: Container) -> None:
    job = store.jobs.start("face-detection", "bkt", "v.mp4")
    queue = JobQueue(store.db, lease_seconds=0.05)
    for _ in range(MAX_ATTEMPTS):
        assert queue.claim("crashy") is not None
        time.sleep(0.1)
    assert queue.claim("next") is None
    failed = store.jobs.get(job.job_id)
    assert failed.status == "FAILED" and "stopped 3 times" in (failed.status_message or "")


def test_cancel_stops_heartbeats(store: Container) -> None:
    job = store.jobs.start("face-detection", "bkt", "v.mp4")
    queue = JobQueue(store.db, lease_seconds=60)
    claimed = queue.claim("w")
    assert claimed is not None
    assert store.jobs.cancel(job.job_id).status == "CANCELLED"
    assert not queue.heartbeat(job.job_id, claimed[1], 50.0)
    assert queue.claim("w2") is None
    assert store.jobs.cancel(job.job_id).status == "CANCELLED"  # cancelling twice is harmless


def test_idempotency_and_validation(store: Container) -> None:
    a = store.jobs.start("face-detection", "bkt", "v.mp4", client_request_token="tok", job_tag="t1", api="X")
    b = store.jobs.start("face-detection", "bkt", "v.mp4", client_request_token="tok", job_tag="t1", api="X")
    assert a.job_id == b.job_id
    with pytest.raises(IdempotencyMismatchError):
        store.jobs.start("face-detection", "bkt", "v.mp4", client_request_token="tok", job_tag="t2", api="X")
    # the token is scoped per API, like Rekognition's per-operation tokens
    c = store.jobs.start("face-detection", "bkt", "v.mp4", client_request_token="tok", job_tag="t1", api="Y")
    assert c.job_id != a.job_id
    with pytest.raises(InvalidObjectError):
        store.jobs.start("face-detection", "bkt", "missing.mp4")
    with pytest.raises(NotFoundError):
        store.jobs.start("face-search", "bkt", "v.mp4", params={"collection_id": "nope"})
    with pytest.raises(NotFoundError):
        store.jobs.get("0" * 64)


def test_delivery_claims_are_exclusive(store: Container) -> None:
    from videolens.services.events.dispatcher import DeliveryDispatcher

    topic = store.events.create_topic("t")
    for n in range(40):  # each http subscription queues one SubscriptionConfirmation delivery
        store.events.subscribe(topic.topic_arn, "http", f"http://127.0.0.1:9/hook/{n}")
    claimed: list[int] = []
    lock = threading.Lock()

    def dispatcher() -> None:
        d = DeliveryDispatcher(store.settings, store.db, store.events)
        while rows := d.claim():
            with lock:
                claimed.extend(r.delivery_id for r in rows)

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 40 and len(set(claimed)) == 40
