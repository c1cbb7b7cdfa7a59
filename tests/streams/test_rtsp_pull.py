"""An RTSP camera (gst-rtsp-server) pulled into a stream; the camera dies and comes back: ingest resumes."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest

from tests.conftest import free_port
from tests.streams.conftest import Kvs, WaitUntil

CAMERA = Path(__file__).parent / "rtsp_camera.py"


class Camera:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> None:
        # the system interpreter has python3-gi (GStreamer bindings) from Debian
        self.process = subprocess.Popen(
            ["/usr/bin/python3", str(CAMERA), str(self.port)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def camera() -> Iterator[Camera]:
    cam = Camera(free_port())
    cam.start()
    yield cam
    cam.kill()


def test_camera_killed_and_restarted(kvs: Kvs, camera: Camera, wait_until: WaitUntil) -> None:
    kvs.create("rtsp-cam")
    response = httpx.put(f"{kvs.url}/v1/streams/rtsp-cam/pull", json={"url": camera.url})
    assert response.status_code == 200 and response.json()["url"] == camera.url
    index = kvs.container.streams.index

    def stored() -> int:
        return len(index.after_seq(1, -1, 1000))

    wait_until(lambda: stored() >= 3, timeout=30)
    camera.kill()
    wait_until(
        lambda: httpx.get(f"{kvs.url}/v1/streams/rtsp-cam/pull").json()["state"] == "waiting", timeout=20
    )
    before = stored()
    camera.start()  # same address: the puller reconnects with back-off
    wait_until(lambda: stored() >= before + 3, timeout=40)
    status = httpx.get(f"{kvs.url}/v1/streams/rtsp-cam/pull").json()
    assert status["sessions"] >= 2 and status["reconnects"] >= 1

    fragments = kvs.fragments("rtsp-cam")
    sessions = [f.session_id for f in index.after_seq(1, -1, 1000)]
    assert len(set(sessions)) >= 2
    starts = [f["ProducerTimestamp"].timestamp() for f in fragments]
    assert starts == sorted(starts)  # the time line goes on after the reconnect
    # key frame every 25 frames at 25 fps: one-second fragments
    assert all(900 <= f["FragmentLengthInMilliseconds"] <= 1100 for f in fragments[:2])

    media = kvs.data_client("kinesis-video-archived-media", "rtsp-cam", "GET_MEDIA_FOR_FRAGMENT_LIST")
    last = media.get_media_for_fragment_list(
        StreamName="rtsp-cam", Fragments=[fragments[-1]["FragmentNumber"]]
    )
    with av.open(io.BytesIO(last["Payload"].read())) as container:
        frames = list(container.decode(video=0))
        assert (frames[0].width, frames[0].height) == (320, 240)
        assert frames[0].key_frame
        assert container.streams.audio  # the AAC track came along

    assert httpx.delete(f"{kvs.url}/v1/streams/rtsp-cam/pull").status_code == 204
    assert httpx.get(f"{kvs.url}/v1/streams/rtsp-cam/pull").status_code == 404


def test_listen_mode_takes_rtmp_publishers(kvs: Kvs, hamilton_clip: Path, wait_until: WaitUntil) -> None:
    kvs.create("pushed")
    url = f"rtmp://127.0.0.1:{free_port()}/live/pushed"
    response = httpx.put(f"{kvs.url}/v1/streams/pushed/pull", json={"url": url, "listen": True})
    assert response.status_code == 200 and response.json()["listen"] is True
    index = kvs.container.streams.index
    publish = [
        "ffmpeg",
        "-v",
        "error",
        "-re",
        "-t",
        "5",
        "-i",
        str(hamilton_clip),
        "-c",
        "copy",
        "-f",
        "flv",
        url,
    ]
    for round_ in (1, 2):  # a publisher comes, goes, and another comes
        wait_until(lambda: httpx.get(f"{kvs.url}/v1/streams/pushed/pull").json()["state"] == "listening")
        subprocess.run(publish, check=True, timeout=30)
        wait_until(lambda r=round_: len({f.session_id for f in index.after_seq(1, -1, 100)}) == r, timeout=10)
    fragments = kvs.fragments("pushed")
    assert len(fragments) >= 4
    assert [f["FragmentLengthInMilliseconds"] for f in fragments[:2]] == [2002, 2002]
    assert httpx.delete(f"{kvs.url}/v1/streams/pushed/pull").status_code == 204
