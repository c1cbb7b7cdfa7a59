"""A channel keeps the pusher's audio: ffmpeg pushes the Hamilton clip's picture with a beep 1 s after its
first frame; every rendition's HLS segments carry AAC that decodes in PyAV, lasts as long as the video and
has the beep 1 s after the first output frame (through the anonymizer's look-ahead). AAC is copied packet
for packet, MP3 and PCM pushes and an Opus pull source are encoded to AAC, an AudioDescription's bitrate /
sample rate / coding mode are honoured, a push without audio has none; no frame is lost; the input
recording keeps the audio."""

from __future__ import annotations

import copy
import functools
import http.server
import io
import subprocess
import threading
from pathlib import Path
from typing import Any

import av
import botocore.exceptions
import numpy as np
import pytest

from tests.channels.conftest import (
    ANONYMIZE_TAG,
    client,
    hls_encoder_settings,
    make_channel,
    push,
    start_pull_channel,
    wait_state,
    wait_until,
)
from tests.conftest import RunningServer
from videolens.services.channels.encoder_settings import plan_output
from videolens.services.channels.errors import UnprocessableSettingsError

BEEP_AT_S = 1.0  # after the first video frame
CLIP_S = 4
RENDITIONS = [("_360p", 640, 360, 800_000), ("_180p", 320, 180, 300_000)]


@pytest.fixture(scope="module")
def beep_clip(hamilton_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """4 s of the Hamilton clip (picture re-timed to start at 0) with 48 kHz stereo AAC, faint noise but for
    an 880 Hz beep from 1.0 to 1.3 s. (path, video frames)"""
    out = tmp_path_factory.mktemp("audio") / "beep.mp4"
    # the noise makes an encoder spend its whole bitrate (on silence it spends next to nothing)
    tone = f"if(between(t,{BEEP_AT_S},{BEEP_AT_S + 0.3}),0.5*sin(2*PI*880*t),0)"
    beep = f"aevalsrc='{tone}+0.02*(2*random(0)-1)|0.02*(2*random(1)-1)':s=48000:d={CLIP_S}"
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(hamilton_clip), "-f", "lavfi", "-i", beep, "-map", "0:v"]
    cmd += ["-map", "1:a", "-t", str(CLIP_S), "-vf", "setpts=PTS-STARTPTS", "-c:v", "libx264", "-preset"]
    cmd += ["ultrafast", "-g", "30", "-bf", "0", "-c:a", "aac", "-b:a", "128k", "-ac", "2", str(out)]
    subprocess.run(cmd, check=True)
    with av.open(str(out)) as c:
        assert c.streams.audio[0].start_time == 0 or c.streams.audio[0].start_time is None
        frames = sum(1 for _ in c.decode(video=0))
    return out, frames


def _vod(s3: Any, bucket: str, name: str) -> tuple[str, bytes]:
    vod = s3.get_object(Bucket=bucket, Key=f"live/{name}.m3u8")["Body"].read().decode()
    assert vod.rstrip().endswith("#EXT-X-ENDLIST")
    uris = [ln for ln in vod.splitlines() if ln and not ln.startswith("#")]
    return vod, b"".join(s3.get_object(Bucket=bucket, Key=f"live/{u}")["Body"].read() for u in uris)


def _decode(data: bytes) -> dict[str, Any]:
    """What a player gets from the segments played back to back: video frames, audio samples, beep time."""
    with av.open(io.BytesIO(data), format="mpegts") as c:
        assert len(c.streams.audio) == 1
        audio = c.streams.audio[0]
        info: dict[str, Any] = {"codec": audio.codec_context.name, "rate": audio.codec_context.sample_rate}
        info["channels"] = audio.codec_context.channels
        video_t: list[float] = []
        audio_t: list[float] = []
        samples, onset, payloads = 0, None, []
        for packet in c.demux():
            if packet.stream.type == "audio" and packet.size:
                payloads.append(bytes(packet)[7:])  # after the ADTS header the TS muxer put in front
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    video_t.append(float(frame.time))
                    continue
                assert isinstance(frame, av.AudioFrame)
                audio_t.append(float(frame.time))
                pcm = frame.to_ndarray()
                loud = np.flatnonzero(np.abs(pcm).max(axis=0) > 0.1)
                if onset is None and loud.size:
                    onset = float(frame.time) + loud[0] / frame.sample_rate
                samples += frame.samples
    # one continuous time line across the segments: frame k at v0 + k/fps (no segment shifted)
    steps = np.diff(sorted(video_t))
    assert abs(steps - 1 / 29.97).max() < 0.002, steps
    info.update(frames=len(video_t), v0=min(video_t), a0=min(audio_t), audio_s=samples / info["rate"])
    info.update(video_s=max(video_t) - min(video_t), onset=onset, payloads=payloads)
    return info


def _run(
    live_server: RunningServer,
    medialive: Any,
    s3: Any,
    user: str,
    clip: tuple[Path, int],
    audio_args: list[str],
    **kw: Any,
) -> tuple[str, Any]:
    source, frames = clip
    s3.create_bucket(Bucket=user)
    cid, url = make_channel(medialive, user, user, **kw)
    medialive.start_channel(ChannelId=cid)
    wait_state(medialive, cid, "RUNNING")
    assert push(source, url, CLIP_S + 1, ["-c:v", "copy", *audio_args]).wait(60) == 0
    stats = live_server.container.channels.stats(cid)
    assert stats is not None
    # stop once the connection's decoder is flushed (frames_in counts what came out of it): a stop ends
    # the input at once, and what was pushed but not yet read is not encoded
    wait_until(lambda: stats.frames_in >= frames, what="every pushed frame decoded")
    medialive.stop_channel(ChannelId=cid)
    wait_state(medialive, cid, "IDLE")
    return cid, stats


def test_aac_is_copied_into_every_rendition_in_sync_through_the_anonymizer(
    live_server: RunningServer, medialive: Any, s3: Any, beep_clip: tuple[Path, int]
) -> None:
    source, frames = beep_clip
    cid, stats = _run(
        live_server, medialive, s3, "hal", beep_clip, ["-c:a", "copy"],
        renditions=RENDITIONS, tags={ANONYMIZE_TAG: "pixelate"},
    )  # fmt: skip
    with av.open(str(source)) as c:
        pushed = {bytes(p) for p in c.demux(audio=0) if p.size}
    master = s3.get_object(Bucket="hal", Key="live/hal.m3u8")["Body"].read().decode()
    assert master.count('CODECS="avc1.64001f,mp4a.40.2"') == 2, master
    for modifier, *_ in RENDITIONS:
        _vod_text, data = _vod(s3, "hal", f"hal{modifier}")
        out = _decode(data)
        assert (out["codec"], out["rate"], out["channels"]) == ("aac", 48000, 2)
        assert out["frames"] == frames == stats.frames_in  # nothing lost at the disconnect
        # copied, not encoded again: every output AAC frame is one the pusher sent, in order, none missing
        # but at most the first (the one straddling the first video frame)
        assert set(out["payloads"]) <= pushed and len(pushed) - len(out["payloads"]) <= 1
        assert abs(out["a0"] - out["v0"]) < 0.1, out
        assert abs(out["audio_s"] - frames / 29.97) < 0.1, out
        assert out["onset"] is not None and abs(out["onset"] - out["v0"] - BEEP_AT_S) < 0.01, out
    # the recording keeps the audio too (the input's packets remuxed)
    archived = client(live_server, "kinesis-video-archived-media")
    fragments = archived.list_fragments(StreamName=f"medialive-{cid}")["Fragments"]
    media = archived.get_media_for_fragment_list(
        StreamName=f"medialive-{cid}", Fragments=[fragments[0]["FragmentNumber"]]
    )["Payload"].read()
    with av.open(io.BytesIO(media)) as c:
        assert [s.codec_context.name for s in c.streams] == ["h264", "aac"]


@pytest.mark.parametrize(("codec", "rate"), [("libmp3lame", 44100), ("pcm_s16le", 44100)])
def test_mp3_and_pcm_are_encoded_to_aac(
    live_server: RunningServer, medialive: Any, s3: Any, beep_clip: tuple[Path, int], codec: str, rate: int
) -> None:
    source, frames = beep_clip
    user = "mp3" if codec == "libmp3lame" else "pcm"
    _cid, stats = _run(live_server, medialive, s3, user, beep_clip, ["-c:a", codec, "-ar", str(rate)])
    _vod_text, data = _vod(s3, user, f"{user}_360p")
    out = _decode(data)
    assert (out["codec"], out["rate"], out["channels"]) == ("aac", rate, 2)
    assert out["frames"] == frames == stats.frames_in
    assert abs(out["a0"] - out["v0"]) < 0.1, out
    assert abs(out["audio_s"] - frames / 29.97) < 0.1, out
    assert out["onset"] is not None and abs(out["onset"] - out["v0"] - BEEP_AT_S) < 0.01, out


def _with_audio(description: dict[str, Any] | None) -> dict[str, Any]:
    settings = hls_encoder_settings([("_360p", None, None, 800_000)])
    if description is not None:
        settings["AudioDescriptions"] = [{"Name": "audio_1", "AudioSelectorName": "default", **description}]
        settings["OutputGroups"][0]["Outputs"][0]["AudioDescriptionNames"] = ["audio_1"]
    return copy.deepcopy(settings)


def test_audio_description_bitrate_sample_rate_and_coding_mode_are_honoured(
    live_server: RunningServer, medialive: Any, s3: Any, beep_clip: tuple[Path, int]
) -> None:
    source, frames = beep_clip
    aac = {"Bitrate": 48000.0, "SampleRate": 32000.0, "CodingMode": "CODING_MODE_1_0", "Profile": "LC"}
    _cid, stats = _run(
        live_server, medialive, s3, "desc", beep_clip, ["-c:a", "copy"],
        encoder_settings=_with_audio({"CodecSettings": {"AacSettings": aac}}),
    )  # fmt: skip
    _vod_text, data = _vod(s3, "desc", "desc_360p")
    out = _decode(data)
    assert (out["codec"], out["rate"], out["channels"]) == ("aac", 32000, 1)
    assert out["frames"] == frames
    kbits = sum(len(p) for p in out["payloads"]) * 8 / out["audio_s"] / 1000
    assert 35 < kbits < 60, kbits  # the 48 kbit/s asked for, not the pushed 128
    assert out["onset"] is not None and abs(out["onset"] - out["v0"] - BEEP_AT_S) < 0.01, out


def test_a_push_without_audio_has_none(
    live_server: RunningServer, medialive: Any, s3: Any, beep_clip: tuple[Path, int]
) -> None:
    source, frames = beep_clip
    _cid, stats = _run(live_server, medialive, s3, "mute", beep_clip, ["-an"])
    _vod_text, data = _vod(s3, "mute", "mute_360p")
    with av.open(io.BytesIO(data), format="mpegts") as c:
        assert [s.type for s in c.streams] == ["video"]
        assert sum(1 for _ in c.decode(video=0)) == frames == stats.frames_in
    master = s3.get_object(Bucket="mute", Key="live/mute.m3u8")["Body"].read().decode()
    assert 'CODECS="avc1.64001f"' in master and "mp4a" not in master


def test_bad_audio_descriptions_are_unprocessable(medialive: Any) -> None:
    sg = medialive.create_input_security_group(WhitelistRules=[{"Cidr": "10.0.0.0/8"}])["SecurityGroup"]["Id"]
    inp = medialive.create_input(
        Name="au", Type="RTMP_PUSH", Destinations=[{"StreamName": "live/au"}], InputSecurityGroups=[sg]
    )["Input"]
    unknown = _with_audio(None)
    unknown["OutputGroups"][0]["Outputs"][0]["AudioDescriptionNames"] = ["nope"]
    for settings, field in (
        (unknown, "audioDescriptionNames"),
        (_with_audio({"CodecSettings": {"AacSettings": {"Bitrate": 1000.0}}}), "aacSettings.bitrate"),
        (_with_audio({"CodecSettings": {"AacSettings": {"SampleRate": 12345.0}}}), "aacSettings.sampleRate"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            medialive.create_channel(
                Name="au",
                InputAttachments=[{"InputId": inp["Id"]}],
                Destinations=[{"Id": "dest", "Settings": [{"Url": "s3ssl://nowhere/live/au"}]}],
                EncoderSettings=settings,
            )
        response = info.value.response
        assert response["Error"]["Code"] == "UnprocessableEntityException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 422
        with pytest.raises(UnprocessableSettingsError) as error:
            plan_output(settings, ["dest"])
        assert [path for path, _why in error.value.errors if path.endswith(field)], error.value.errors


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def test_an_opus_source_pulled_over_http_is_encoded_to_aac(
    live_server: RunningServer, medialive: Any, s3: Any, beep_clip: tuple[Path, int], tmp_path: Path
) -> None:
    """A URL_PULL source with Opus audio (a Matroska file on a real HTTP server): AAC out, in sync."""
    source, frames = beep_clip
    clip = tmp_path / "opus.mkv"
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c:v", "copy", "-c:a", "libopus", str(clip)]
    subprocess.run(cmd, check=True)
    handler = functools.partial(_Files, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s3.create_bucket(Bucket="opus")
        url = f"http://127.0.0.1:{server.server_address[1]}/opus.mkv"
        cid = start_pull_channel(medialive, "opus", url, "s3://opus/live/opus", ("_360p", 800_000))
        stats = live_server.container.channels.stats(cid)
        assert stats is not None
        # the file ends and is opened again: the first connection is complete once the second begins
        wait_until(lambda: stats.connections >= 2, timeout=30, what="the whole file pulled")
        medialive.stop_channel(ChannelId=cid)
        wait_state(medialive, cid, "IDLE")
    finally:
        server.shutdown()
        server.server_close()
    vod = s3.get_object(Bucket="opus", Key="live/opus_360p.m3u8")["Body"].read().decode()
    first = vod.split("#EXT-X-DISCONTINUITY")[0]  # the first pass over the file
    uris = [ln for ln in first.splitlines() if ln and not ln.startswith("#")]
    out = _decode(b"".join(s3.get_object(Bucket="opus", Key=f"live/{u}")["Body"].read() for u in uris))
    assert (out["codec"], out["rate"], out["channels"]) == ("aac", 48000, 2)
    assert out["frames"] == frames
    assert abs(out["a0"] - out["v0"]) < 0.1, out
    assert abs(out["audio_s"] - frames / 29.97) < 0.1, out
    assert out["onset"] is not None and abs(out["onset"] - out["v0"] - BEEP_AT_S) < 0.01, out
