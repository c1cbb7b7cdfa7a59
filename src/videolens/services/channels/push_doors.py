"""The public push doors of live channels (RTMP and RTSP): who is let in, to which runner, at which URL."""

from __future__ import annotations

import functools
import logging
import time
from collections import deque

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

    def __init__(self, settings: Settings, inputs: Inputs, runners: dict[str, ChannelRunner]) -> None:
        self.settings, self.inputs, self.runners = settings, inputs, runners
        self.refusals: deque[Refusal] = deque(maxlen=200)
        rtmp, rtsp = (functools.partial(self._resolve, kind) for kind in ("RTMP_PUSH", "RTSP_PUSH"))
        self.rtmp = RtmpGate(settings.host, settings.channels_rtmp_port, rtmp, self._refused)
        self.rtsp = RtspGate(settings.host, settings.channels_rtsp_port, rtsp, self._refused)

    def start(self) -> None:
        for gate, protocol in ((self.rtmp, "RTMP"), (self.rtsp, "RTSP")):
            try:
                gate.start()
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

    def stop(self) -> None:
        self.rtmp.stop()
        self.rtsp.stop()

    def port(self, input_type: str) -> int:
        return self.rtsp.port if input_type == "RTSP_PUSH" else self.rtmp.port

    def urls(self, item: Input, host: str) -> list[str]:
        scheme = SCHEMES.get(item.type)
        if scheme is None:
            return []
        port = self.port(item.type)
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
        runner = next((self.runners[c] for c in item.attached_channels if c in self.runners), None)
        if runner is None or runner.backend_port is None:
            raise Refused("the input's channel is not running")

        def check_peer(peer: str) -> str | None:
            return (
                None if self.inputs.peer_allowed(item, peer) else "address outside the input security groups"
            )

        return PushTarget(runner.backend_port, destination.key, check_peer)

    def _refused(self, peer: str, path: str, reason: str) -> None:
        self.refusals.append(Refusal(time.time(), peer, path, reason))
