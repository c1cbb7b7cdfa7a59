"""The public push doors of live channels (RTMP and RTSP): who is let in, to which runner, at which URL.

In a cluster each node has its own doors; a pusher connects to the node running its input's channel.
That node records its doors on the channel's row as an endpoint `host|rtmp port|rtsp port` (a port of 0:
that door did not start), which every node uses to hand out the push URL and to tell a pusher that
knocked at the wrong node where to go.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Callable

from videolens.runtime.settings import Settings
from videolens.services.channels.inputs import Inputs
from videolens.services.channels.models import Input, Refusal
from videolens.services.channels.rtmp_gate import PushTarget, Refused, RtmpGate
from videolens.services.channels.rtsp_gate import RtspGate, backend_url
from videolens.services.channels.runner import ChannelRunner

log = logging.getLogger(__name__)

SCHEMES = {"RTMP_PUSH": "rtmp", "RTSP_PUSH": "rtsp"}


class PushDoors:
    """One door per push protocol, listening where the HTTP server does (loopback by default;
    VIDEOLENS_HOST=0.0.0.0 opens all): security groups and stream keys guard them, the bind address
    decides who reaches them."""

    def __init__(
        self,
        settings: Settings,
        inputs: Inputs,
        runner_of: Callable[[str], ChannelRunner | None],
        remote_of: Callable[[Input], str | None],
    ) -> None:
        """`runner_of(channel id)`: this node's runner of the channel; `remote_of(input)`: the endpoint
        of another node running the input's channel (None: no other node does)."""
        self.settings, self.inputs = settings, inputs
        self.runner_of, self.remote_of = runner_of, remote_of
        self.started: dict[str, bool] = {"RTMP_PUSH": False, "RTSP_PUSH": False}
        self.refusals: deque[Refusal] = deque(maxlen=200)
        rtmp, rtsp = (functools.partial(self._resolve, kind) for kind in ("RTMP_PUSH", "RTSP_PUSH"))
        self.rtmp = RtmpGate(settings.host, settings.channels_rtmp_port, rtmp, self._refused)
        self.rtsp = RtspGate(settings.host, settings.channels_rtsp_port, rtsp, self._refused)

    def start(self) -> bool:
        """Open both doors; whether any of them listens (a node without one runs pull channels only)."""
        for gate, protocol in ((self.rtmp, "RTMP"), (self.rtsp, "RTSP")):
            try:
                gate.start()
                self.started[f"{protocol}_PUSH"] = True
            except OSError as exc:  # a taken port must not take the API down with it: push inputs say so
                log.error(
                    "channels: cannot listen for %s pushes on %s:%d (%s); %s_PUSH inputs are unavailable "
                    "until VIDEOLENS_CHANNELS_%s_PORT names a free port",
                    protocol,
                    self.settings.host,
                    gate.port,
                    exc.strerror or exc,
                    protocol,
                    protocol,
                )
        return any(self.started.values())

    def stop(self) -> None:
        for kind, gate in (("RTMP_PUSH", self.rtmp), ("RTSP_PUSH", self.rtsp)):
            if self.started[kind]:
                gate.stop()
                self.started[kind] = False

    def port(self, input_type: str) -> int:
        return self.rtsp.port if input_type == "RTSP_PUSH" else self.rtmp.port

    def endpoint(self, host: str) -> str:
        """This node's doors as recorded on the channels it runs."""
        ports = [self.port(kind) if self.started[kind] else 0 for kind in ("RTMP_PUSH", "RTSP_PUSH")]
        return "|".join([host, *map(str, ports)])

    @staticmethod
    def door_of(endpoint: str, input_type: str) -> tuple[str, int]:
        """(host, port) of one protocol's door in a recorded endpoint."""
        host, _, ports = endpoint.partition("|")
        rtmp, _, rtsp = ports.partition("|")
        port = rtsp if input_type == "RTSP_PUSH" else rtmp
        return host, int(port) if port.isdigit() else 0

    def push_endpoint(self, item: Input, host: str) -> tuple[str, int]:
        """Where the input's pusher connects: the node running its channel (in a cluster), else here."""
        remote = self.remote_of(item)
        if remote is not None:
            return self.door_of(remote, item.type)
        return host, self.port(item.type)

    def urls(self, item: Input, host: str) -> list[str]:
        scheme = SCHEMES.get(item.type)
        if scheme is None:
            return []
        host, port = self.push_endpoint(item, host)
        return [f"{scheme}://{host}:{port}/{d.stream_name}/{d.key}" for d in item.destinations]

    @staticmethod
    def backend_url(input_type: str, port: int) -> str:
        """Where the channel runner of a push input listens (loopback; only its door connects there)."""
        return backend_url(port) if input_type == "RTSP_PUSH" else f"rtmp://127.0.0.1:{port}/live/in"

    def _resolve(self, input_type: str, app: str) -> PushTarget:
        found = self.inputs.find_push(app)
        if found is None:
            raise Refused("no input has this stream name")
        item, destination = found
        if item.type != input_type:
            raise Refused(f"the input is an {item.type} input")
        runner = next((r for c in item.attached_channels if (r := self.runner_of(c)) is not None), None)
        if runner is None or runner.backend_port is None:
            remote = self.remote_of(item)
            if remote is not None:
                host, port = self.door_of(remote, input_type)
                raise Refused(
                    f"the input's channel runs on another node: push to "
                    f"{SCHEMES[input_type]}://{host}:{port}/{app}/<key>"
                )
            raise Refused("the input's channel is not running")

        def check_peer(peer: str) -> str | None:
            return (
                None if self.inputs.peer_allowed(item, peer) else "address outside the input security groups"
            )

        return PushTarget(runner.backend_port, destination.key, check_peer)

    def _refused(self, peer: str, path: str, reason: str) -> None:
        self.refusals.append(Refusal(time.time(), peer, path, reason))
