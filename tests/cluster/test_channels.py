"""Live channels on the cluster: every api node answers MediaLive for every channel, exactly one node runs
a RUNNING channel (under a lease), the other node's RTMP door refuses its pushers and names the runner's
node, and when the runner's node is SIGKILLed the other takes the channel over within the lease time and
the HLS output continues after one discontinuity."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from botocore.exceptions import ClientError, ResponseStreamingError

from tests.channels.conftest import make_channel, push, wait_state, wait_until
from tests.cluster.conftest import NODE_ENV, client
from videolens.cli.local_cluster import LocalCluster, Node

LEASE_S = float(NODE_ENV["VIDEOLENS_CHANNELS_LEASE_SECONDS"])


def _lease(db: sa.Engine, cid: str) -> dict[str, Any]:
    with db.connect() as conn:
        row = (
            conn.execute(
                sa.text(
                    "SELECT state, desired, owner, lease_token, runner_endpoint FROM channels WHERE id = :c"
                ),
                {"c": cid},
            )
            .mappings()
            .one()
        )
    return dict(row)


def _runner_node(cluster: LocalCluster, row: dict[str, Any]) -> Node:
    node = cluster.node_by_pid(int(str(row["owner"]).split(":")[1]))
    assert node is not None and node.role == "api", row
    return node


def _push_url(ml: Any, cid: str) -> str:
    iid = ml.describe_channel(ChannelId=cid)["InputAttachments"][0]["InputId"]
    return str(ml.describe_input(InputId=iid)["Destinations"][0]["Url"])


def _read(s3: Any, bucket: str, key: str) -> list[str]:
    """A playlist's lines ([] while not written yet). Read again when the GET raced the playlist being
    rewritten: videolens' S3 door on the S3 blob backend can then fail the read (a storage issue, not
    the channel's: the old blob is deleted while the GET streams it)."""
    for _ in range(5):
        try:
            text: str = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            return text.splitlines()
        except s3.exceptions.NoSuchKey:
            return []
        except (ResponseStreamingError, ClientError) as exc:
            if isinstance(exc, ClientError) and exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                raise
            time.sleep(0.2)
    raise AssertionError(f"{key} could not be read")


def _live(s3: Any, key: str) -> list[str]:
    return _read(s3, "cluster-live", key)


def _newest(lines: list[str]) -> int:
    uris = [ln for ln in lines if ln and not ln.startswith("#")]
    return int(uris[-1].rsplit("_", 1)[1].split(".")[0]) if uris else 0


def test_one_runner_per_channel_and_takeover_when_its_node_dies(
    cluster: LocalCluster, db: sa.Engine, hamilton_clip: Path
) -> None:
    a, b = cluster.api
    ml = {n.name: client("medialive", n.url) for n in (a, b)}
    s3 = client("s3", a.url)
    s3.create_bucket(Bucket="cluster-live")
    cid, _ = make_channel(ml[a.name], "cluster-live", "una")
    # not running yet: each node names its own door
    own_door = {n.name: _push_url(ml[n.name], cid) for n in (a, b)}
    assert own_door[a.name] != own_door[b.name]
    assert own_door[a.name].split("/", 3)[3] == own_door[b.name].split("/", 3)[3]  # same app/instance/key

    assert ml[a.name].start_channel(ChannelId=cid)["State"] == "STARTING"
    for n in (a, b):  # every node answers, and they agree
        wait_state(ml[n.name], cid, "RUNNING", timeout=30)
    row = _lease(db, cid)
    runner, other = (a, b) if _runner_node(cluster, row) is a else (b, a)
    # exactly one node runs it: only its describe carries runner stats
    stats = {n.name: httpx.get(f"{n.url}/v1/channels/{cid}", timeout=10).json()["stats"] for n in (a, b)}
    assert stats[runner.name] is not None and stats[other.name] is None
    # both nodes hand out the runner's door; the other node's own door refuses and says where to go
    url = own_door[runner.name]
    assert _push_url(ml[a.name], cid) == _push_url(ml[b.name], cid) == url
    assert push(hamilton_clip, own_door[other.name], 2).wait(30) != 0
    wait_until(
        lambda: "runs on another node" in (other.data_dir / "node.log").read_text(errors="replace"),
        what="the refusal in the other node's log",
    )

    media = "live/una_360p.m3u8"
    assert push(hamilton_clip, url, 3).wait(30) == 0
    wait_until(lambda: _newest(_live(s3, media)) >= 3, what="the first node's segments")
    first_run = _newest(_live(s3, media))
    # the native HLS URL plays from the node that does not run the channel too (read from the bucket)
    hls_url = httpx.get(f"{other.url}/v1/channels/{cid}", timeout=10).json()["hls_url"]
    key = hls_url.split("?key=")[1]
    master = httpx.get(hls_url, timeout=10)
    assert master.status_code == 200 and f"una_360p.m3u8?key={key}" in master.text
    playlist = httpx.get(f"{other.url}/v1/channels/{cid}/hls/una_360p.m3u8", params={"key": key}, timeout=10)
    first_segment = next(ln for ln in playlist.text.splitlines() if ln.startswith("una_360p_"))
    assert first_segment.endswith(f"?key={key}")
    segment = httpx.get(f"{other.url}/v1/channels/{cid}/hls/{first_segment}", timeout=10)
    assert segment.status_code == 200 and segment.content[:1] == b"\x47"  # MPEG-TS sync byte

    runner.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    runner.proc.wait(10)  # type: ignore[union-attr]
    try:
        survivor_ml = ml[other.name]
        wait_until(
            lambda: (r := _lease(db, cid))["owner"] not in (None, row["owner"]) and r["state"] == "RUNNING",
            timeout=2 * LEASE_S + 10,
            what="the take-over",
        )
        took_s = time.monotonic() - killed_at
        after = _lease(db, cid)
        assert _runner_node(cluster, after) is other and after["lease_token"] == row["lease_token"] + 1
        print(f"take-over {took_s:.1f} s after SIGKILL (lease {LEASE_S} s)")
        assert took_s < LEASE_S + LEASE_S / 3 + 3  # expiry, then the next scan (lease / 3), then start
        assert survivor_ml.describe_channel(ChannelId=cid)["State"] == "RUNNING"
        new_url = _push_url(survivor_ml, cid)
        assert new_url == own_door[other.name]
        assert push(hamilton_clip, new_url, 3).wait(30) == 0
        s3_other = client("s3", other.url)
        wait_until(lambda: _newest(_live(s3_other, media)) >= first_run + 3, what="the survivor's segments")
    finally:  # the cluster is shared by the package's tests: bring the node back
        back = cluster.start_node(runner.role, runner.index)
        cluster.wait_healthy(back)
    ml_back = client("medialive", back.url)
    assert ml_back.describe_channel(ChannelId=cid)["State"] == "RUNNING"  # the restarted node agrees
    # Stop from the node that does not run it reaches the runner's node
    assert ml_back.stop_channel(ChannelId=cid)["State"] == "STOPPING"
    for m in (ml_back, survivor_ml):
        wait_state(m, cid, "IDLE", timeout=30)
    assert _lease(db, cid)["owner"] is None
    vod = _live(client("s3", back.url), media)
    uris = [ln for ln in vod if ln and not ln.startswith("#")]
    assert vod[-1] == "#EXT-X-ENDLIST"
    assert uris == [f"una_360p_{i:05d}.ts" for i in range(1, len(uris) + 1)]
    assert vod.count("#EXT-X-DISCONTINUITY") == 1
    assert vod[vod.index("#EXT-X-DISCONTINUITY") + 2] == uris[first_run]


def test_a_paused_runner_node_writes_nothing_once_taken_over(
    cluster: LocalCluster, db: sa.Engine, hamilton_clip: Path
) -> None:
    a, b = cluster.api
    ml = client("medialive", a.url)
    client("s3", b.url).create_bucket(Bucket="cluster-paused")
    cid, _ = make_channel(ml, "cluster-paused", "vera")
    ml.start_channel(ChannelId=cid)
    wait_state(ml, cid, "RUNNING", timeout=30)
    row = _lease(db, cid)
    paused = _runner_node(cluster, row)
    other = b if paused is a else a
    # read through the node that keeps running: a stopped node accepts connections but never answers
    s3 = client("s3", other.url)
    media = "live/vera_360p.m3u8"

    def newest() -> int:
        return _newest(_read(s3, "cluster-paused", media))

    pusher = push(hamilton_clip, _push_url(ml, cid), 9)  # the whole clip and more, in real time
    try:
        wait_until(lambda: newest() >= 2, what="the paused node's first segments")
        paused.signal(signal.SIGSTOP)  # it stalls mid-broadcast, the pusher still sending to it
        try:
            before = newest()
            wait_until(
                lambda: _lease(db, cid)["owner"] not in (None, row["owner"]),
                timeout=2 * LEASE_S + 10,
                what="the take-over",
            )
        finally:
            paused.signal(signal.SIGCONT)
        # it wakes with frames to encode, finds its lease gone, and stops its runner
        wait_until(
            lambda: (
                f"channel {cid} was taken over" in (paused.data_dir / "node.log").read_text(errors="replace")
            ),
            timeout=30,
            what="the paused node noticing",
        )
    finally:
        pusher.kill()
        pusher.wait(10)
    # nothing it had in flight reached the output: no newer segment, none logged
    assert newest() == before
    missing = f"live/vera_360p_{before + 1:05d}.ts"
    assert s3.list_objects_v2(Bucket="cluster-paused", Prefix=missing).get("KeyCount", 0) == 0
    with db.connect() as conn:
        logged = conn.execute(
            sa.text("SELECT max(sequence) FROM channel_segments WHERE channel_id = :c"), {"c": cid}
        ).scalar_one()
    assert logged == before
    after = _lease(db, cid)
    assert _runner_node(cluster, after) is other and after["lease_token"] == row["lease_token"] + 1
    ml_other = client("medialive", other.url)
    ml_other.stop_channel(ChannelId=cid)
    wait_state(ml_other, cid, "IDLE", timeout=30)
    vod = _read(s3, "cluster-paused", media)
    assert vod[-1] == "#EXT-X-ENDLIST" and _newest(vod) == before
