"""1 GiB multipart upload_file / download_file round trip, byte-exact, with the server's peak RSS bounded."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import numpy as np
import pytest
from boto3.s3.transfer import TransferConfig

from tests.conftest import free_port

GiB = 1024**3
MiB = 1024**2
#: the server may grow by this much while moving 1 GiB each way (it holds ~1 chunk per request)
MAX_RSS_GROWTH_MB = 300


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """`videolens serve` in its own process, so its memory can be read from /proc."""
    port = free_port()
    env = {
        **os.environ,
        "VIDEOLENS_DATA_DIR": str(tmp_path / "data"),
        "VIDEOLENS_LOG_LEVEL": "WARNING",
        "VIDEOLENS_AUTH_MODE": "dev",
    }
    exe = str(Path(sys.executable).with_name("videolens"))
    proc = subprocess.Popen([exe, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_one_gib_multipart_round_trip(server_process: tuple[str, int], tmp_path: Path) -> None:
    url, pid = server_process
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    rng = np.random.default_rng(1234)
    with open(src, "wb") as f:
        for _ in range(GiB // (64 * MiB)):
            f.write(rng.bytes(64 * MiB))
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    s3.create_bucket(Bucket="large")
    baseline_kb = _status_kb(pid, "VmRSS")
    config = TransferConfig()  # boto3's defaults: 8 MiB parts, 10 threads, like user code
    started = time.monotonic()
    s3.upload_file(str(src), "large", "one.gib", Config=config)
    upload_s = time.monotonic() - started
    head = s3.head_object(Bucket="large", Key="one.gib")
    assert head["ContentLength"] == GiB and head["ETag"].endswith('-128"')
    started = time.monotonic()
    s3.download_file("large", "one.gib", str(dst), Config=config)
    download_s = time.monotonic() - started
    peak_kb = _status_kb(pid, "VmHWM")
    try:
        assert dst.stat().st_size == GiB
        assert _sha256(dst) == _sha256(src)
    finally:
        src.unlink()
        dst.unlink(missing_ok=True)
    growth_mb = (peak_kb - baseline_kb) / 1024
    print(
        f"\n1 GiB: upload {upload_s:.1f} s, download {download_s:.1f} s; server RSS baseline "
        f"{baseline_kb / 1024:.0f} MB, peak {peak_kb / 1024:.0f} MB (+{growth_mb:.0f} MB)"
    )
    assert growth_mb < MAX_RSS_GROWTH_MB
    s3.delete_object(Bucket="large", Key="one.gib")
