"""The channels capability: MediaLive's channel life cycle over inputs, runners, HLS output and recording."""

from __future__ import annotations

import hmac
import logging
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

from videolens.runtime.settings import Settings
from videolens.services.anonymize.service import AnonymizeService
from videolens.services.channels.encoder_settings import default_encoder_settings, plan_output
from videolens.services.channels.errors import ChannelStateError, UnprocessableSettingsError
from videolens.services.channels.hls_output import HlsOutput, Put, local_put
from videolens.services.channels.inputs import Inputs
from videolens.services.channels.models import PUSH_TYPES, Channel, Input, RunnerStats
from videolens.services.channels.push_doors import PushDoors
from videolens.services.channels.runner import ChannelRunner
from videolens.services.channels.sparing import SpareMatcher
from videolens.services.channels.store import ChannelStore
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.faces.service import FacesService
from videolens.services.storage.service import StorageService
from videolens.services.streams.service import StreamsService

log = logging.getLogger(__name__)

ANONYMIZE_TAG = "videolens:anonymize"
#: CREATING lasts this long (MediaLive takes seconds; clients poll describe_channel until IDLE)
CREATE_DELAY_S = 0.3
DESTINATION_SCHEMES = ("s3://", "s3ssl://")
#: live detection works on frames shrunk to this side unless the spec says otherwise: at 960 (the file
#: default) detection alone took ~21 ms a 720p frame, at 640 ~9 ms (40-px faces at 1080p stay found)
LIVE_DETECT_MAX_SIDE = 640


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def split_destination(url: str) -> tuple[str, str, str]:
    """s3ssl://bucket/live/user → (bucket, "live/", "user")."""
    rest = url.split("://", 1)[1]
    bucket, _, path = rest.partition("/")
    prefix, _, base = path.rpartition("/")
    return bucket, f"{prefix}/" if prefix else "", base or "index"


class ChannelsService:
    def __init__(
        self,
        settings: Settings,
        storage: StorageService,
        streams: StreamsService,
        anonymizer: AnonymizeService,
        faces: FacesService,
    ) -> None:
        self.settings = settings
        self.storage, self.streams, self.anonymizer, self.faces = storage, streams, anonymizer, faces
        self.root = settings.data_dir / "channels"
        self.store = ChannelStore(self.root / "channels.json")
        self.inputs = Inputs(self.store, settings.region, str(settings.account_id))
        self.runners: dict[str, ChannelRunner] = {}
        self.doors = PushDoors(settings, self.inputs, self.runners)  # the public RTMP and RTSP ports
        self.refusals = self.doors.refusals

    # -- BackgroundTask -----------------------------------------------------------------------------
    def start(self) -> None:
        self.doors.start()

    def stop(self) -> None:
        for cid in list(self.runners):
            self._stop_runner(cid)
        self.doors.stop()

    @property
    def rtmp_port(self) -> int:
        return self.doors.rtmp.port

    @staticmethod
    def default_encoder_settings(destination_id: str, segment_s: int = 2) -> dict[str, Any]:
        """One rendition at the input's size, 2 Mbit/s, HLS segments of `segment_s` (the native default)."""
        return default_encoder_settings(destination_id, segment_s)

    # -- push doors ---------------------------------------------------------------------------------
    def push_urls(self, item: Input, host: str) -> list[str]:
        return self.doors.urls(item, host)

    def push_port(self, item: Input) -> int:
        return self.doors.port(item.type)

    # -- channels -----------------------------------------------------------------------------------
    def _refresh(self, channel: Channel) -> Channel:
        if channel.state == "CREATING" and time.time() - channel.created_at >= CREATE_DELAY_S:
            channel.state = "IDLE"
        return channel

    def channel(self, cid: str) -> Channel:
        channel = self.store.channels.get(cid)
        if channel is None:
            raise NotFoundError(f"channel {cid} not found")
        return self._refresh(channel)

    def list_channels(self) -> list[Channel]:
        return [self._refresh(c) for c in self.store.channels.values() if c.state != "DELETED"]

    def anonymize_spec(self, channel: Channel) -> dict[str, Any] | None:
        """The channel's field, else its tag (`mode[,spare=collection]`), else the server default."""
        if channel.anonymize is not None:
            return channel.anonymize if channel.anonymize.get("mode", "pixelate") != "none" else None
        tag = channel.tags.get(ANONYMIZE_TAG)
        if tag is not None:
            parts = [p.strip() for p in tag.split(",") if p.strip()]
            if not parts or parts[0] in ("none", "off"):
                return None
            spec: dict[str, Any] = {"mode": parts[0]}
            for part in parts[1:]:
                key, _, value = part.partition("=")
                spec["spare_collection" if key in ("spare", "spare_collection") else key] = value
            return spec
        default = self.settings.channels_anonymize_default
        return {"mode": default} if default and default != "none" else None

    def _check(self, channel: Channel) -> None:
        errors: list[tuple[str, str]] = []
        if len(channel.input_ids) != 1:
            errors.append(("inputAttachments", "a SINGLE_PIPELINE channel takes exactly one input"))
        for iid in channel.input_ids:
            item = self.store.inputs.get(iid)
            if item is None:
                errors.append(("inputAttachments.inputId", f"input {iid} does not exist"))
            elif item.attached_channels and item.attached_channels != [channel.id]:
                errors.append(("inputAttachments.inputId", f"input {iid} is attached to another channel"))
        ids = []
        for d in channel.destinations:
            ids.append(str(d.get("Id")))
            for s in d.get("Settings") or []:
                if not str(s.get("Url", "")).startswith(DESTINATION_SCHEMES):
                    errors.append(
                        ("destinations.settings.url", "must be an s3:// or s3ssl:// URL of a bucket")
                    )
        if errors:
            raise UnprocessableSettingsError("Failed Create Channel validation", errors)
        plan_output(channel.encoder_settings, ids)
        spec = self.anonymize_spec(channel)
        if spec is not None:
            try:
                self.anonymizer.live_options(spec)
            except InvalidParameterError as exc:
                raise UnprocessableSettingsError(exc.message, [("anonymize", exc.message)]) from exc

    def create_channel(self, name: str, **fields: Any) -> Channel:
        with self.store.lock:
            cid = self.store.new_id()
            channel = Channel(
                id=cid,
                arn=self.inputs.arn("channel", cid),
                name=name,
                state="CREATING",
                created_at=time.time(),
                recording_stream=f"medialive-{cid}",
                playback_key=secrets.token_urlsafe(18),
                **fields,
            )
            self._check(channel)
            self.streams.create_stream(
                channel.recording_stream, retention_hours=self.settings.channels_recording_retention_hours
            )
            for iid in channel.input_ids:
                self.store.inputs[iid].attached_channels = [cid]
            self.store.channels[cid] = channel
            self.store.save()
        return channel

    def update_channel(self, cid: str, **fields: Any) -> Channel:
        with self.store.lock:
            channel = self.channel(cid)
            if channel.state != "IDLE":
                raise ChannelStateError(
                    f"channel {cid} is {channel.state}: only an IDLE channel can be updated"
                )
            before = {k: getattr(channel, k) for k in fields}
            old_inputs = channel.input_ids
            for key, value in fields.items():
                if value is not None:
                    setattr(channel, key, value)
            try:
                self._check(channel)
            except Exception:
                for key, value in before.items():
                    setattr(channel, key, value)
                raise
            for iid in old_inputs:
                if iid not in channel.input_ids and iid in self.store.inputs:
                    self.store.inputs[iid].attached_channels = []
            for iid in channel.input_ids:
                self.store.inputs[iid].attached_channels = [cid]
            self.store.save()
        return channel

    def set_tags(self, cid: str, tags: dict[str, str], remove: list[str] | None = None) -> Channel:
        with self.store.lock:
            channel = self.channel(cid)
            channel.tags.update(tags)
            for key in remove or []:
                channel.tags.pop(key, None)
            self.store.save()
        return channel

    def delete_channel(self, cid: str) -> Channel:
        with self.store.lock:
            channel = self.channel(cid)
            if channel.state not in ("IDLE", "CREATING"):
                raise ChannelStateError(f"channel {cid} is {channel.state}: stop it before deleting it")
            channel.state = "DELETING"
            for iid in channel.input_ids:
                if iid in self.store.inputs:
                    self.store.inputs[iid].attached_channels = []
            self.store.save()
            answer = Channel(**{**channel.__dict__})
            channel.state = "DELETED"
            self.store.save()
        return answer

    # -- running ------------------------------------------------------------------------------------
    def start_channel(self, cid: str) -> Channel:
        with self.store.lock:
            channel = self.channel(cid)
            if channel.state != "IDLE":
                raise ChannelStateError(f"channel {cid} is {channel.state}: only an IDLE channel can start")
            runner = self._runner(channel)
            channel.state = "STARTING"
            self.runners[cid] = runner
            self.store.save()
            answer = Channel(**{**channel.__dict__})
        runner.start()
        threading.Thread(target=self._mark_running, args=(channel, runner), daemon=True).start()
        return answer

    def _mark_running(self, channel: Channel, runner: ChannelRunner) -> None:
        runner.listening.wait(10)
        with self.store.lock:
            if channel.state == "STARTING":
                channel.state = "RUNNING"
                self.store.save()

    def _runner(self, channel: Channel) -> ChannelRunner:
        ids = [str(d.get("Id")) for d in channel.destinations]
        plan = plan_output(channel.encoder_settings, ids)
        destination = next(d for d in channel.destinations if str(d.get("Id")) == plan.destination_id)
        urls = [str(s["Url"]) for s in destination.get("Settings") or [] if s.get("Url")]
        puts: list[Put] = []
        local = self.root / channel.id / "hls"
        shutil.rmtree(local, ignore_errors=True)
        base = "index"
        for url in urls:
            bucket, prefix, base = split_destination(url)
            try:
                self.storage.head_bucket(bucket)
            except NotFoundError as exc:
                raise UnprocessableSettingsError(
                    f"destination bucket {bucket} does not exist",
                    [("destinations.settings.url", exc.message)],
                ) from exc
            puts.append(self._bucket_put(bucket, prefix))
        puts.insert(0, local_put(local))
        item = self.inputs.input(channel.input_ids[0])
        push = item.type in PUSH_TYPES
        port = _free_port() if push else None
        url = self.doors.backend_url(item.type, port) if port is not None else item.sources[0]
        spec = self.anonymize_spec(channel)

        def make_processor(fps: float, size: tuple[int, int]) -> Any:
            if spec is None:
                return None
            collection = spec.get("spare_collection")
            matcher = SpareMatcher(self.faces, str(collection)) if collection else None
            return self.anonymizer.live_processor(
                {"detect_max_side": LIVE_DETECT_MAX_SIDE, **spec}, fps, size, matcher
            )

        runner = ChannelRunner(
            channel.id,
            url,
            listen=push,
            plan=plan,
            make_output=lambda sizes: HlsOutput(plan, base, puts, sizes),
            make_processor=make_processor,
            record=lambda: self.streams.ingest(name=channel.recording_stream),
            latency_budget_s=self.settings.channels_latency_budget_s,
        )
        runner.backend_port = port
        return runner

    def _bucket_put(self, bucket: str, prefix: str) -> Put:
        def put(name: str, data: bytes, content_type: str) -> None:
            self.storage.put_object_bytes(bucket, prefix + name, data, content_type)

        return put

    def stop_channel(self, cid: str) -> Channel:
        with self.store.lock:
            channel = self.channel(cid)
            if channel.state not in ("RUNNING", "STARTING"):
                raise ChannelStateError(f"channel {cid} is {channel.state}: only a running channel can stop")
            channel.state = "STOPPING"
            self.store.save()
            answer = Channel(**{**channel.__dict__})
        threading.Thread(target=self._stop_and_idle, args=(channel,), daemon=True).start()
        return answer

    def _stop_and_idle(self, channel: Channel) -> None:
        self._stop_runner(channel.id)
        with self.store.lock:
            channel.state = "IDLE"
            self.store.save()

    def _stop_runner(self, cid: str) -> None:
        runner = self.runners.pop(cid, None)
        if runner is not None:
            runner.stop()

    def stats(self, cid: str) -> RunnerStats | None:
        runner = self.runners.get(cid)
        return runner.stats if runner is not None else None

    # -- native HLS ---------------------------------------------------------------------------------
    def hls_base(self, channel: Channel) -> str:
        for d in channel.destinations:
            for s in d.get("Settings") or []:
                if s.get("Url"):
                    return split_destination(str(s["Url"]))[2]
        return "index"

    def native_file(self, cid: str, name: str, key: str) -> bytes:
        """A file of the channel's native HLS output; playlists get the key appended to their URIs."""
        channel = self.channel(cid)
        if not hmac.compare_digest(key.encode(), channel.playback_key.encode()):
            raise NotFoundError("unknown playback key")
        if "/" in name or name.startswith("."):
            raise NotFoundError(f"no file {name}")
        path: Path = self.root / cid / "hls" / name
        if not path.is_file():
            raise NotFoundError(f"no file {name} (yet)")
        data = path.read_bytes()
        if name.endswith(".m3u8"):
            lines = [
                ln if ln.startswith("#") or not ln else f"{ln}?key={key}" for ln in data.decode().split("\n")
            ]
            data = "\n".join(lines).encode()
        return data
