"""The lease store (backends/leases), SQLite and PostgreSQL: fencing tokens, checkpoints, exclusive claims."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from videolens.backends.leases import Lease, LeaseStore, SqlLeaseStore, named_lease_table
from videolens.backends.metadata.database import Database
from videolens.runtime.settings import Settings


@pytest.fixture
def db(any_db_settings: Settings) -> Iterator[Database]:
    any_db_settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(any_db_settings.database_url_resolved)
    database.migrate()
    yield database
    database.dispose()


def test_the_sql_store_is_a_lease_store(db: Database) -> None:
    store: LeaseStore = SqlLeaseStore(db, named_lease_table(), lease_seconds=5)
    assert store.lease_seconds == 5


def test_take_renew_checkpoint_release_and_fencing(db: Database) -> None:
    store = SqlLeaseStore(db, named_lease_table(), lease_seconds=0.3)
    key = "processor-a/stream-1"
    first = store.take(key, "w1")
    assert first == Lease(key, "w1", 1)
    assert store.take(key, "w2") is None  # held
    assert store.renew(first)
    assert store.checkpoint(first, "fragment-0007")
    state = store.read(key)
    assert state is not None
    assert (state.owner, state.token, state.checkpoint) == ("w1", 1, "fragment-0007")
    assert state.held(time.time())

    time.sleep(0.45)  # w1 stalls past its expiry: w2 takes over with a higher token
    second = store.take(key, "w2")
    assert second == Lease(key, "w2", 2)
    # the successor resumes from the last checkpoint of the one before
    after = store.read(key)
    assert after is not None and after.checkpoint == "fragment-0007"
    # the stale holder is fenced: no renewal, no checkpoint, no release
    assert not store.renew(first)
    assert not store.checkpoint(first, "fragment-0009")
    assert not store.release(first)
    state = store.read(key)
    assert state is not None
    assert (state.owner, state.token, state.checkpoint) == ("w2", 2, "fragment-0007")

    assert store.checkpoint(second, "fragment-0010")
    assert store.release(second)
    released = store.read(key)
    assert released is not None
    assert (released.owner, released.token, released.checkpoint) == (None, 2, "fragment-0010")
    assert not released.held(time.time())
    assert not store.renew(second)  # released means released
    # the token never goes back, not even after a release
    assert store.take(key, "w1") == Lease(key, "w1", 3)
    assert store.read("nobody/never") is None


def test_a_same_owner_retake_still_gets_a_new_token(db: Database) -> None:
    store = SqlLeaseStore(db, named_lease_table(), lease_seconds=0.2)
    old = store.take("k", "w")
    assert old is not None
    time.sleep(0.3)
    new = store.take("k", "w")
    assert new is not None and new.token == old.token + 1
    assert not store.renew(old)  # the earlier incarnation of the same owner is fenced too
    assert store.renew(new)


def test_concurrent_claims_are_exclusive(db: Database) -> None:
    store = SqlLeaseStore(db, named_lease_table(), lease_seconds=60)
    keys = [f"lease-{n:02d}" for n in range(20)]
    for key in keys:  # create the rows, then free them
        lease = store.take(key, "setup")
        assert lease is not None and store.release(lease)
    claimed: list[Lease] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        mine = SqlLeaseStore(db, named_lease_table(), lease_seconds=60)
        while (got := mine.claim(f"c{n}")) is not None:
            with lock:
                claimed.append(got)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(lease.key for lease in claimed) == Counter(keys)  # each exactly once
    assert {lease.token for lease in claimed} == {2}  # setup held token 1
    for lease in claimed:
        state = store.read(lease.key)
        assert state is not None and state.owner == lease.owner


def test_claim_respects_where_and_order(db: Database) -> None:
    from videolens.backends.metadata.tables.leases import LeaseRow

    store = SqlLeaseStore(db, named_lease_table(), lease_seconds=60)
    for key in ("b", "a", "c"):
        lease = store.take(key, "setup")
        assert lease is not None and store.release(lease)
    got = store.claim("w", where=[LeaseRow.name != "a"])
    assert got is not None and got.key == "b"  # the key orders when nothing else does
    got = store.claim("w")
    assert got is not None and got.key == "a"


def test_checkpoint_needs_a_checkpoint_column(db: Database) -> None:
    from videolens.backends.leases import LeaseTable
    from videolens.backends.metadata.tables.streams import StreamPullSourceRow

    table = LeaseTable(
        key=StreamPullSourceRow.stream_id,
        owner=StreamPullSourceRow.owner,
        token=StreamPullSourceRow.lease_token,
        expires=StreamPullSourceRow.lease_expires_at,
    )
    store = SqlLeaseStore(db, table, lease_seconds=1)
    assert store.take(1, "w") is None  # rows of this table are made by their owners, not by take
    with pytest.raises(ValueError, match="no checkpoint"):
        store.checkpoint(Lease(1, "w", 1), "x")
