"""The channels capability: MediaLive's channel life cycle over inputs, runners, HLS output and recording.

Records live in the metadata store (repository.py), so every node answers for every channel; Start and
Stop set the desired state, and the runner supervisor of some node runs the channel under a lease
(supervisor.py): a channel RUNNING when its node stopped or died runs again on another node, or on the
same one after a restart.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import shutil
import socket
import time
import urllib.parse
from typing import Any

from videolens.backends.metadata.database import Database
from videolens.runtime.settings import Settings
from videolens.services.anonymize.service import AnonymizeService
from videolens.services.channels.destinations import (
    DESTINATION_SCHEMES,
    destination_puts,
    hls_base,
    hls_file,
)
from videolens.services.channels.encoder_settings import default_encoder_settings, plan_output
from videolens.services.channels.errors import ChannelStateError, UnprocessableSettingsError
from videolens.services.channels.hls_output import local_put
from videolens.services.channels.inputs import Inputs
from videolens.services.channels.models import PUSH_TYPES, Channel, Input, RunnerStats
from videolens.services.channels.push_doors import PushDoors
from videolens.services.channels.repository import ChannelRepository, channel_doc, to_channel
from videolens.services.channels.runner import ChannelRunner
from videolens.services.channels.sparing import SpareMatcher
from videolens.services.channels.supervisor import RunGuard, RunnerSupervisor
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.faces.service import FacesService
from videolens.services.storage.service import StorageService
from videolens.services.streams.service import StreamsService

log = logging.getLogger(__name__)

ANONYMIZE_TAG = "videolens:anonymize"
#: live detection works on frames shrunk to this side unless the spec says otherwise: at 960 (the file
#: default) detection alone took ~21 ms a 720p frame, at 640 ~9 ms (40-px faces at 1080p stay found)
LIVE_DETECT_MAX_SIDE = 640


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChannelsService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        storage: StorageService,
        streams: StreamsService,
        anonymizer: AnonymizeService,
        faces: FacesService,
    ) -> None:
        self.settings = settings
        self.storage, self.streams, self.anonymizer, self.faces = storage, streams, anonymizer, faces
        self.root = settings.data_dir / "channels"
        self.store = ChannelRepository(db, legacy_json=self.root / "channels.json")
        self.inputs = Inputs(self.store, settings.region, str(settings.account_id))
        self.supervisor = RunnerSupervisor(self.store, self._runner, settings.channels_lease_seconds)
        # the public RTMP and RTSP ports; a pusher at the wrong node is told where its channel runs
        self.doors = PushDoors(settings, self.inputs, self.supervisor.runner, self._remote_endpoint)
        self.refusals = self.doors.refusals

    # -- BackgroundTask -----------------------------------------------------------------------------
    def start(self) -> None:
        push_door = self.doors.start()
        endpoint = self.doors.endpoint(self._public_host()) if push_door else None
        self.supervisor.start(endpoint, push_door=push_door)

    def _public_host(self) -> str:
        """The host pushers reach this node's doors at (recorded on the channels it runs)."""
        if self.settings.public_base_url:
            host = urllib.parse.urlsplit(self.settings.public_base_url).hostname
            if host:
                return host
        return socket.gethostname() if self.settings.host in ("0.0.0.0", "::", "") else self.settings.host

    def stop(self) -> None:
        self.supervisor.stop()
        self.doors.stop()

    @property
    def rtmp_port(self) -> int:
        return self.doors.rtmp.port

    @staticmethod
    def default_encoder_settings(destination_id: str, segment_s: int = 2) -> dict[str, Any]:
        """One rendition at the input's size, 2 Mbit/s, HLS segments of `segment_s` (the native default)."""
        return default_encoder_settings(destination_id, segment_s)

    # -- push doors ---------------------------------------------------------------------------------
    def _remote_endpoint(self, item: Input) -> str | None:
        """The doors (push_doors endpoint) of another node running the input's channel (None: none does)."""
        for cid in item.attached_channels:
            row = self.store.row(cid)
            live = (
                row is not None and row.lease_expires_at is not None and row.lease_expires_at >= time.time()
            )
            if live and row is not None and row.owner != self.supervisor.owner and row.runner_endpoint:
                return row.runner_endpoint
        return None

    def push_endpoint(self, item: Input, host: str) -> tuple[str, int]:
        """Where the input's pusher connects: the node running its channel (in a cluster), else here."""
        return self.doors.push_endpoint(item, host)

    def push_urls(self, item: Input, host: str) -> list[str]:
        return self.doors.urls(item, host)

    # -- channels -----------------------------------------------------------------------------------
    def channel(self, cid: str) -> Channel:
        return self.store.channel(cid)

    def list_channels(self) -> list[Channel]:
        return self.store.channels()

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
            item = self.store.input(iid)
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
        self.store.add_channel(channel)  # attaches its input, unless another channel took it meanwhile
        return channel

    def _state_error(self, channel: Channel, what: str) -> ChannelStateError:
        return ChannelStateError(f"channel {channel.id} is {channel.state}: {what}")

    def update_channel(self, cid: str, **fields: Any) -> Channel:
        with self.store.edit(cid) as (s, row):
            channel = to_channel(row)
            if channel.state != "IDLE":
                raise self._state_error(channel, "only an IDLE channel can be updated")
            old_inputs = channel.input_ids
            for key, value in fields.items():
                if value is not None:
                    setattr(channel, key, value)
            self._check(channel)
            self.store.attach(s, cid, channel.input_ids, old_inputs)
            row.name, row.doc = channel.name, channel_doc(channel)
        return channel

    def set_tags(self, cid: str, tags: dict[str, str], remove: list[str] | None = None) -> Channel:
        with self.store.edit(cid) as (_s, row):
            channel = to_channel(row)
            channel.tags.update(tags)
            for key in remove or []:
                channel.tags.pop(key, None)
            row.doc = channel_doc(channel)
        return channel

    def delete_channel(self, cid: str) -> Channel:
        with self.store.edit(cid) as (s, row):
            channel = to_channel(row)
            if channel.state not in ("IDLE", "CREATING"):
                raise self._state_error(channel, "stop it before deleting it")
            self.store.attach(s, cid, [], channel.input_ids)
            row.state = "DELETED"
        channel.state = "DELETING"  # the answer; the row is DELETED at once
        return channel

    # -- running ------------------------------------------------------------------------------------
    def start_channel(self, cid: str) -> Channel:
        """Desired RUNNING: some node's supervisor takes the lease and starts the runner (STARTING →
        RUNNING). The destination is checked here, so a missing bucket is the caller's 422."""
        channel = self.channel(cid)
        if channel.state == "IDLE":
            destination_puts(self.storage, channel)
        with self.store.edit(cid) as (s, row):
            channel = to_channel(row)
            if channel.state != "IDLE":
                raise self._state_error(channel, "only an IDLE channel can start")
            row.state, row.desired = "STARTING", "RUNNING"
            self.store.clear_segments(s, cid)  # a new run: the output starts again at _00001
        channel.state = "STARTING"
        self.supervisor.wake.set()
        return channel

    def stop_channel(self, cid: str) -> Channel:
        """Desired IDLE: the node running it stops the runner, writes the VOD playlists, sets IDLE."""
        with self.store.edit(cid) as (_s, row):
            channel = to_channel(row)
            if channel.state not in ("RUNNING", "STARTING"):
                raise self._state_error(channel, "only a running channel can stop")
            row.state, row.desired = "STOPPING", "IDLE"
        channel.state = "STOPPING"
        self.supervisor.wake.set()
        return channel

    def _runner(self, channel: Channel, guard: RunGuard) -> ChannelRunner:
        """The runner of one run on this node; every write it makes goes through the lease's fence."""
        plan = plan_output(channel.encoder_settings, [str(d.get("Id")) for d in channel.destinations])
        base, puts = destination_puts(self.storage, channel)
        local = self.root / channel.id / "hls"
        if not guard.resume:  # a new run; a run taken over keeps the segments it continues
            shutil.rmtree(local, ignore_errors=True)
        puts.insert(0, local_put(local))
        guard.bind(plan, base, puts)  # every write of the run goes through the lease's fence
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
            make_output=guard.output,
            make_processor=make_processor,
            record=lambda: self.streams.ingest(name=channel.recording_stream),
            latency_budget_s=self.settings.channels_latency_budget_s,
        )
        runner.backend_port = port
        return runner

    def stats(self, cid: str) -> RunnerStats | None:
        """The runner's numbers when this node runs the channel (None elsewhere)."""
        runner = self.supervisor.runner(cid)
        return runner.stats if runner is not None else None

    # -- native HLS ---------------------------------------------------------------------------------
    def hls_base(self, channel: Channel) -> str:
        return hls_base(channel)

    def native_file(self, cid: str, name: str, key: str) -> bytes:
        """A file of the channel's native HLS output; playlists get the key appended to their URIs."""
        channel = self.channel(cid)
        if not hmac.compare_digest(key.encode(), channel.playback_key.encode()):
            raise NotFoundError("unknown playback key")
        if "/" in name or name.startswith("."):
            raise NotFoundError(f"no file {name}")
        here = self.supervisor.runner(cid) is not None
        data = hls_file(self.storage, channel, self.root / cid / "hls" if here else None, name)
        if name.endswith(".m3u8"):
            lines = [
                ln if ln.startswith("#") or not ln else f"{ln}?key={key}" for ln in data.decode().split("\n")
            ]
            data = "\n".join(lines).encode()
        return data
