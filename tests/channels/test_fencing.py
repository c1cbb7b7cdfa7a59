"""The runner lease's fence on a channel's output (SQLite and PostgreSQL): a node past its lease time
renews before writing and goes on while the lease is still its own; once taken over it writes nothing
more and its stale token cannot log a segment; the node that took over continues the playlists from the
segment log with one discontinuity."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from videolens.backends.metadata.database import Database
from videolens.runtime.settings import Settings
from videolens.services.channels.hls_output import SegmentEntry
from videolens.services.channels.models import Channel, OutputPlan, Rendition
from videolens.services.channels.repository import ChannelRepository
from videolens.services.channels.supervisor import Fenced, RunGuard, RunnerSupervisor

LEASE_S = 0.5
PLAN = OutputPlan((Rendition("_a", 64, 36, 100_000, None),), 1.0, 5, "dest")


@pytest.fixture
def repo(any_db_settings: Settings) -> Iterator[ChannelRepository]:
    any_db_settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(any_db_settings.database_url_resolved)
    db.migrate()
    yield ChannelRepository(db)
    db.dispose()


def _supervisor(repo: ChannelRepository, owner: str) -> RunnerSupervisor:
    def no_runner(*_: object) -> None:
        raise AssertionError("not used")

    return RunnerSupervisor(repo, no_runner, LEASE_S, owner=owner)  # type: ignore[arg-type]


def test_a_stale_node_writes_nothing_and_the_next_one_continues(repo: ChannelRepository) -> None:
    cid = repo.new_id()
    repo.add_channel(Channel(cid, "arn", "c", "IDLE", time.time(), [], [], {}))
    with repo.edit(cid) as (_s, row):
        row.desired = "RUNNING"
    first, second = _supervisor(repo, "node-a"), _supervisor(repo, "node-b")
    lease_a = first.leases.claim("node-a")
    assert lease_a is not None and lease_a.token == 1
    assert second.leases.claim("node-b") is None  # one holder at a time
    written_a: list[str] = []
    guard_a = RunGuard(first.leases, lease_a, repo.segments(cid), LEASE_S)
    guard_a.bind(PLAN, "live", [lambda name, _data, _ct: written_a.append(name)])
    out_a = guard_a.output([(64, 36)])
    out_a.add_segment(0, b"one", 1.0, False)
    assert written_a == ["live_a_00001.ts", "live_a.m3u8", "live.m3u8"]

    time.sleep(LEASE_S + 0.1)  # node A stalls past its lease (no renewal), nobody takes it meanwhile
    assert not guard_a.valid()
    out_a.add_segment(0, b"two", 1.0, False)  # the lease is still its own: renewed at the write
    assert written_a[3:] == ["live_a_00002.ts", "live_a.m3u8"]

    time.sleep(LEASE_S + 0.1)  # stalled again, and this time node B takes the channel over
    lease_b = second.leases.claim("node-b")
    assert lease_b is not None and lease_b.token == 2
    with pytest.raises(Fenced):
        out_a.add_segment(0, b"three", 1.0, False)
    assert len(written_a) == 5 and guard_a.lost  # nothing more reached the destination
    # node A's stale token cannot log a segment either
    assert not guard_a.log_segment(0, SegmentEntry(3, "live_a_00003.ts", 1.0, False))
    written_b: list[tuple[str, bytes]] = []
    guard_b = RunGuard(second.leases, lease_b, repo.segments(cid), LEASE_S)
    guard_b.bind(PLAN, "live", [lambda name, data, _ct: written_b.append((name, data))])
    out_b = guard_b.output([(64, 36)])
    out_b.add_segment(0, b"four", 1.0, False)
    names = [n for n, _ in written_b]
    assert names == ["live_a_00003.ts", "live_a.m3u8"]  # the master was written by the run it continues
    playlist = written_b[1][1].decode().splitlines()
    assert playlist[-4:] == ["live_a_00002.ts", "#EXT-X-DISCONTINUITY", "#EXTINF:1.000,", "live_a_00003.ts"]
    assert [(r.sequence, r.discontinuity) for r in repo.segments(cid)] == [(1, False), (2, False), (3, True)]
    # a run taken over and stopped before any pusher came back writes the VOD playlist from the log
    written_c: list[bytes] = []
    guard_c = RunGuard(second.leases, lease_b, repo.segments(cid), LEASE_S)
    guard_c.bind(PLAN, "live", [lambda _name, data, _ct: written_c.append(data)])
    guard_c.finish_unconnected()
    vod = written_c[-1].decode().splitlines()
    assert [ln for ln in vod if ln.startswith("live")] == [
        "live_a_00001.ts",
        "live_a_00002.ts",
        "live_a_00003.ts",
    ]
    assert vod[-1] == "#EXT-X-ENDLIST" and vod.count("#EXT-X-DISCONTINUITY") == 1
