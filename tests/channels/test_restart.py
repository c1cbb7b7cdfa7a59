"""A channel survives its server: killed (SIGKILL) while RUNNING, the server restarted on the same data
directory runs it again (STARTING, then RUNNING) and a new push continues the same HLS output after one
discontinuity; stopped gracefully (SIGTERM), it is RUNNING again at once. Records of an older version's
`channels.json` are imported once."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tests.channels.conftest import make_channel, push, wait_state, wait_until
from tests.channels.test_push_door import _pushed_seconds
from tests.cluster.conftest import client
from tests.conftest import free_port
from tests.jobs.test_restart import serve as serve_process
from videolens.backends.metadata.database import Database
from videolens.services.channels.models import Channel, Input, InputDestination, SecurityGroup
from videolens.services.channels.repository import ChannelRepository

LEASE_S = 3


def serve(data_dir: Path, port: int, rtmp_port: int) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return serve_process(
        data_dir,
        port,
        VIDEOLENS_CHANNELS_RTMP_PORT=str(rtmp_port),
        VIDEOLENS_CHANNELS_RTSP_PORT="0",  # 8554 may be another test's or process's
        VIDEOLENS_CHANNELS_LEASE_SECONDS=str(LEASE_S),
    )


def _playlist(s3: Any, key: str) -> list[str]:
    text: str = s3.get_object(Bucket="restarts", Key=key)["Body"].read().decode()
    return text.splitlines()


def _uris(lines: list[str]) -> list[str]:
    return [ln for ln in lines if ln and not ln.startswith("#")]


def _last(lines: list[str]) -> int:
    """The number of the newest segment a live playlist lists (it lists only the last IndexNSegments)."""
    uris = _uris(lines)
    return int(uris[-1].rsplit("_", 1)[1].split(".")[0]) if uris else 0


def _lease(data_dir: Path, cid: str) -> tuple[str, str | None, int]:
    """(stored state, lease owner, fencing token) of the channel, read from the server's database."""
    db = Database(f"sqlite:///{data_dir / 'videolens.db'}")
    try:
        row = ChannelRepository(db).row(cid)
        assert row is not None
        return row.state, row.owner, int(row.lease_token or 0)
    finally:
        db.dispose()


def test_a_running_channel_survives_a_crash_and_a_restart(hamilton_clip: Path, tmp_path: Path) -> None:
    data_dir, port, rtmp_port = tmp_path / "data", free_port(), free_port()
    data_dir.mkdir()
    url = f"http://127.0.0.1:{port}"
    media = "live/rita_360p.m3u8"
    with serve(data_dir, port, rtmp_port) as first:
        ml, s3 = client("medialive", url), client("s3", url)
        s3.create_bucket(Bucket="restarts")
        cid, push_url = make_channel(ml, "restarts", "rita")
        arn = ml.describe_channel(ChannelId=cid)["Arn"]
        ml.create_tags(ResourceArn=arn, Tags={"team": "news", "gone": "soon"})
        ml.delete_tags(ResourceArn=arn, TagKeys=["gone"])
        ml.start_channel(ChannelId=cid)
        wait_state(ml, cid, "RUNNING")
        assert push(hamilton_clip, push_url, 3).wait(30) == 0
        wait_until(lambda: len(_uris(_playlist(s3, media))) >= 3, what="the first run's segments")
        before = _uris(_playlist(s3, media))
        first.send_signal(signal.SIGKILL)  # a crash: no lease released, no playlist finished
        first.wait(10)
    state, dead_owner, token = _lease(data_dir, cid)
    assert state == "RUNNING" and dead_owner is not None

    with serve(data_dir, port, rtmp_port) as second:
        ml, s3 = client("medialive", url), client("s3", url)
        # the dead process's lease has to expire first: until then the channel reads RUNNING (the lease
        # looks alive), then STARTING, then RUNNING again once this process has claimed it
        assert ml.describe_channel(ChannelId=cid)["State"] in ("STARTING", "RUNNING")
        wait_until(
            lambda: _lease(data_dir, cid)[1] not in (None, dead_owner), timeout=LEASE_S + 15, what="the claim"
        )
        wait_state(ml, cid, "RUNNING", timeout=15)
        assert [c["State"] for c in ml.list_channels()["Channels"] if c["Id"] == cid] == ["RUNNING"]
        # the input URL is unchanged: the broadcaster reconnects with the same one
        iid = ml.describe_channel(ChannelId=cid)["InputAttachments"][0]["InputId"]
        assert ml.describe_input(InputId=iid)["Destinations"][0]["Url"] == push_url
        assert push(hamilton_clip, push_url, 3).wait(30) == 0
        wait_until(lambda: _last(_playlist(s3, media)) >= len(before) + 3, what="the new segments")
        live = _playlist(s3, media)
        assert "#EXT-X-ENDLIST" not in live
        state, owner, new_token = _lease(data_dir, cid)
        assert owner not in (None, dead_owner) and new_token == token + 1  # taken over, fenced
        # a graceful stop releases the lease, the channel still meant to run: no VOD playlist yet
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert _lease(data_dir, cid) == ("STARTING", None, token + 1)

    with serve(data_dir, port, rtmp_port):
        ml, s3 = client("medialive", url), client("s3", url)
        wait_state(ml, cid, "RUNNING")
        assert _lease(data_dir, cid)[2] == token + 2
        assert "#EXT-X-ENDLIST" not in _playlist(s3, media)  # the shutdown did not end the broadcast
        assert ml.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "news"}
        assert ml.stop_channel(ChannelId=cid)["State"] == "STOPPING"
        wait_state(ml, cid, "IDLE")
        vod = _playlist(s3, media)
        sizes = [s3.head_object(Bucket="restarts", Key=f"live/{u}")["ContentLength"] for u in _uris(vod)]
    assert vod[-1] == "#EXT-X-ENDLIST" and "#EXT-X-PLAYLIST-TYPE:VOD" in vod
    uris = _uris(vod)
    # the output went on where it stopped: the first run's segments, then one discontinuity, numbered on
    assert uris[: len(before)] == before
    assert uris == [f"rita_360p_{i:05d}.ts" for i in range(1, len(uris) + 1)]
    assert vod.count("#EXT-X-DISCONTINUITY") == 1
    assert vod[vod.index("#EXT-X-DISCONTINUITY") + 2] == uris[len(before)]
    durations = [float(ln.split(":")[1].rstrip(",")) for ln in vod if ln.startswith("#EXTINF")]
    cut, pushed = len(before), _pushed_seconds(hamilton_clip, 3, tmp_path)
    # each run has what its push sent (up to 2 frames lost at a disconnect, docs/channels.md "Limits")
    for run in (durations[:cut], durations[cut:]):
        assert 0 <= pushed - sum(run) <= 2 / 29.97 + 0.01, (pushed, durations)
    assert all(size > 0 for size in sizes)


def test_an_older_versions_json_file_is_imported_once(tmp_path: Path) -> None:
    group = SecurityGroup("1000001", "arn:g", ["10.0.0.0/8"], {"k": "v"})
    item = Input(
        "1000002",
        "arn:i",
        "cam",
        "RTMP_PUSH",
        [InputDestination("live/cam", "secretkey")],
        [],
        ["1000001"],
        ["1000003"],
    )
    common = {"input_attachments": [{"InputId": "1000002"}], "destinations": [], "encoder_settings": {}}
    running = Channel("1000003", "arn:c", "cam", "RUNNING", 1.0, **common, tags={"a": "b"})
    idle = Channel(
        "1000004", "arn:d", "old", "STOPPING", 2.0, input_attachments=[], destinations=[], encoder_settings={}
    )
    legacy = tmp_path / "channels" / "channels.json"
    legacy.parent.mkdir()
    legacy.write_text(
        json.dumps(
            {
                "groups": [dataclasses.asdict(group)],
                "inputs": [dataclasses.asdict(item)],
                "channels": [dataclasses.asdict(running), dataclasses.asdict(idle)],
            }
        )
    )
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    db.migrate()
    repo = ChannelRepository(db, legacy_json=legacy)
    assert not legacy.exists() and legacy.with_name("channels.json.imported").is_file()
    assert repo.group("1000001") == group
    assert repo.input("1000002") == item
    found = repo.find_push("live/cam")
    assert found is not None and found[1].key == "secretkey"
    # the old version's RUNNING channel (its process gone) runs again; one caught stopping is IDLE
    row = repo.row("1000003")
    assert row is not None and (row.state, row.desired) == ("STARTING", "RUNNING")
    assert repo.channel("1000003").tags == {"a": "b"}
    assert repo.channel("1000004").state == "IDLE"
    # started again with the file back in place (e.g. restored from a backup): nothing is imported twice
    legacy.write_text(json.dumps({"groups": [dataclasses.asdict(group)], "inputs": [], "channels": []}))
    assert ChannelRepository(db, legacy_json=legacy).groups() == [group]
    db.dispose()
