"""Channels benchmark: a 720p30 RTMP push anonymized to 720p HLS for 60 s (segment rate vs input rate,
glass-to-glass delay push → playable segment, server CPU), then how many 360p anonymized channels keep up.

A `videolens serve` process (pinned to the given cores) runs the channels; ffmpeg pushes in real time
(`-re`, stream copy, so the pusher costs next to nothing), with the clip's AAC audio (which the channel
copies into its segments; `--no-audio` pushes the picture alone). Side by side in the same run: ffmpeg itself
transcoding the same 720p input to 720p HLS (no anonymization) as fast as it can, for the CPU per frame
of a plain transcode.

Run: .venv/bin/python bench/channels.py [--seconds 60] [--small 1,2,3] [--small-seconds 20] [--cores 0,1]
[--no-audio]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import httpx

MEDIA = Path(os.environ.get("VIDEOLENS_TEST_MEDIA", Path(__file__).resolve().parents[2] / "shared" / "media"))
CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "AKIDBENCH", "aws_secret_access_key": "bench"}
SEGMENT_S = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_source(path: Path, size: str) -> Path:
    """10 s of the real Hamilton clip at `size`, 30 fps, 1 s GOP (people, faces, a dim audience)."""
    clip = MEDIA / "video" / "short_hamilton_clip.mp4"
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-vf", f"scale={size},fps=30", "-c:v", "libx264",
           "-preset", "veryfast", "-g", "30", "-b:v", "3M", "-c:a", "copy", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True)
    return path


def start_server(data_dir: Path, cores: str | None, rtmp_port: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, VIDEOLENS_DATA_DIR=str(data_dir), VIDEOLENS_LOG_LEVEL="WARNING",
               VIDEOLENS_LOG_JSON="false", VIDEOLENS_CHANNELS_RTMP_PORT=str(rtmp_port))  # fmt: skip
    cmd = [str(Path(sys.executable).parent / "videolens"), "serve", "--port", str(port)]
    if cores and shutil.which("taskset"):
        cmd = ["taskset", "-c", cores, *cmd]
    process = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def encoder_settings(width: int, height: int, bitrate: int) -> dict[str, Any]:
    return {
        "AudioDescriptions": [],
        "VideoDescriptions": [{"Name": "v", "Width": width, "Height": height,
                               "CodecSettings": {"H264Settings": {"Bitrate": bitrate}}}],
        "OutputGroups": [{
            "OutputGroupSettings": {"HlsGroupSettings": {"Destination": {"DestinationRefId": "d"},
                                                         "SegmentLength": SEGMENT_S, "IndexNSegments": 5}},
            "Outputs": [{"VideoDescriptionName": "v", "OutputSettings": {
                "HlsOutputSettings": {"NameModifier": "_out", "HlsSettings": {}}}}],
        }],
        "TimecodeConfig": {"Source": "SYSTEMCLOCK"},
    }  # fmt: skip


def make_channel(ml: Any, user: str, width: int, height: int, bitrate: int, protocol: str = "rtmp",
                 anonymize: str = "pixelate") -> tuple[str, str]:  # fmt: skip
    """A started channel on a `protocol` push input (127.0.0.1 only); returns its id and push URL."""
    sg = ml.create_input_security_group(WhitelistRules=[{"Cidr": "127.0.0.1/32"}])["SecurityGroup"]["Id"]
    inp = ml.create_input(Name=user, Type=f"{protocol.upper()}_PUSH", InputSecurityGroups=[sg],
                          Destinations=[{"StreamName": f"live/{user}"}])["Input"]  # fmt: skip
    ch = ml.create_channel(
        Name=user, InputAttachments=[{"InputId": inp["Id"]}],
        Destinations=[{"Id": "d", "Settings": [{"Url": f"s3://bench/live/{user}"}]}],
        EncoderSettings=encoder_settings(width, height, bitrate), Tags={"videolens:anonymize": anonymize},
    )["Channel"]  # fmt: skip
    while ml.describe_channel(ChannelId=ch["Id"])["State"] != "IDLE":
        time.sleep(0.1)
    ml.start_channel(ChannelId=ch["Id"])
    while ml.describe_channel(ChannelId=ch["Id"])["State"] != "RUNNING":
        time.sleep(0.1)
    return ch["Id"], inp["Destinations"][0]["Url"]


def run(ml: Any, s3: Any, pid: int, source: Path, users: list[str], size: tuple[int, int], bitrate: int,
        seconds: float, audio: bool = True) -> dict[str, Any]:  # fmt: skip
    """Push to every channel at once; watch the live playlists for new segments (0.1 s polling)."""
    channels = [make_channel(ml, u, size[0], size[1], bitrate) for u in users]
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    start = time.time()
    pushers = [
        subprocess.Popen(
            [
                "ffmpeg",
                "-v",
                "error",
                "-re",
                "-stream_loop",
                "-1",
                "-t",
                str(seconds),
                "-i",
                str(source),
                "-c",
                "copy",
                *([] if audio else ["-an"]),
                "-f",
                "flv",
                url,
            ]
        )  # fmt: skip
        for _cid, url in channels
    ]
    seen: dict[str, dict[str, float]] = {u: {} for u in users}
    durations: dict[str, dict[str, float]] = {u: {} for u in users}
    while any(p.poll() is None for p in pushers) or time.time() < start + seconds + 6:
        for user in users:
            try:
                text = s3.get_object(Bucket="bench", Key=f"live/{user}_out.m3u8")["Body"].read().decode()
            except s3.exceptions.NoSuchKey:
                continue
            now = time.time()
            for duration, uri in re.findall(r"#EXTINF:([\d.]+),\n(\S+)", text):
                seen[user].setdefault(uri, now)
                durations[user][uri] = float(duration)
        if time.time() > start + seconds + 15:
            break
        time.sleep(0.1)
    cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - wall0
    endpoint = ml.meta.endpoint_url
    stats = [httpx.get(f"{endpoint}/v1/channels/{cid}").json()["stats"] or {} for cid, _url in channels]
    dropped = sum(s.get("frames_dropped", 0) for s in stats)
    frames_in = sum(s.get("frames_in", 0) for s in stats)
    for cid, _url in channels:
        ml.stop_channel(ChannelId=cid)
    for p in pushers:
        p.wait(10)
    delays, produced = [], []
    for user in users:
        media_end = 0.0
        for uri in sorted(seen[user]):
            media_end += durations[user][uri]
            delays.append((media_end, seen[user][uri] - (start + media_end)))
        produced.append(media_end)
    for cid, _url in channels:
        while ml.describe_channel(ChannelId=cid)["State"] != "IDLE":
            time.sleep(0.2)
    return {"delays": delays, "produced": produced, "cpu": cpu, "wall": wall, "dropped": (dropped, frames_in)}


def ffmpeg_peer(source: Path, work: Path, audio: bool = True) -> float:
    """CPU seconds per second of 720p30 video for ffmpeg's own decode → x264 → HLS (no anonymization)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sound = ["-c:a", "copy"] if audio else ["-an"]
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(source), *sound, "-c:v", "libx264", "-preset", "veryfast",
           "-tune", "zerolatency", "-b:v", "2500k", "-f", "hls", "-hls_time", str(SEGMENT_S),
           str(work / "peer.m3u8")]  # fmt: skip
    subprocess.run(cmd, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / 10.0


def report(label: str, result: dict[str, Any], seconds: float, channels: int) -> bool:
    delays = [d for _t, d in result["delays"]]
    third = max(1, len(delays) // 3)
    early, late = statistics.median(delays[:third]), statistics.median(delays[-third:])
    rate = min(result["produced"]) / seconds
    dropped, frames_in = result["dropped"]
    keeps_up = rate > 0.95 and late - early < 1.0 and dropped <= 0.01 * max(frames_in, 1)
    produced = f"{min(result['produced']):.1f}-{max(result['produced']):.1f} s"
    cpu = result["cpu"] / result["wall"]
    print(
        f"{label}: output media {produced} per channel for {seconds:.0f} s pushed (rate {rate:.2f} of input);"
        f" glass-to-glass delay (push -> segment in the playlist) median {statistics.median(delays):.2f} s,"
        f" first third {early:.2f} s, last third {late:.2f} s; server CPU {cpu * 100:.0f}% of a core"
        f" ({cpu / channels * 100:.0f}% per channel); frames dropped for the latency budget"
        f" {result['dropped'][0]} of {result['dropped'][1]} -> {'keeps up' if keeps_up else 'FALLS BEHIND'}"
    )
    return keeps_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--small", default="1,2,3", help="360p channel counts to try ('' to skip)")
    parser.add_argument("--small-seconds", type=float, default=20)
    parser.add_argument("--cores", default="0,1")
    parser.add_argument("--no-audio", dest="audio", action="store_false", help="push the picture alone")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}, cores: {os.cpu_count()}, server pinned to {args.cores or 'all'},"
          f" audio {'pushed (AAC)' if args.audio else 'not pushed'}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hd = make_source(work / "720p.mp4", "1280:720")
        sd = make_source(work / "360p.mp4", "640:360")
        peer = ffmpeg_peer(hd, work, args.audio)
        print(f"ffmpeg peer (decode 720p30 → libx264 veryfast 720p HLS, no anonymization): "
              f"{peer * 100:.0f}% of a core per real-time 720p30 stream")  # fmt: skip
        rtmp_port = free_port()
        process, url = start_server(work / "data", args.cores, rtmp_port)
        try:
            ml = boto3.client("medialive", endpoint_url=url, **CREDENTIALS)
            s3 = boto3.client("s3", endpoint_url=url, **CREDENTIALS)
            s3.create_bucket(Bucket="bench")
            if args.seconds > 0:
                result = run(
                    ml, s3, process.pid, hd, ["hd"], (1280, 720), 2_500_000, args.seconds, args.audio
                )
                report("720p30 → 720p anonymized", result, args.seconds, 1)
                ours = result["cpu"] / result["wall"]
                print(f"ratio: videolens (anonymized) / ffmpeg (plain transcode) CPU = {ours / peer:.2f}")
            fitting = 0
            for n in [int(x) for x in args.small.split(",") if x]:
                users = [f"sd{n}_{i}" for i in range(n)]
                result = run(
                    ml, s3, process.pid, sd, users, (640, 360), 800_000, args.small_seconds, args.audio
                )
                if not report(f"{n} x 360p30 anonymized", result, args.small_seconds, n):
                    break
                fitting = n
            if args.small:
                print(f"360p anonymized channels that keep up on these cores: {fitting}")
        finally:
            process.terminate()
            process.wait(20)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
