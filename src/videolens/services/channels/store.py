"""Durable records of security groups, inputs and channels: one JSON document under the data directory.

Channels are few and change rarely (control-plane calls), so one file rewritten atomically under a
lock is enough for the embedded server; it is read back at start (running channels come back IDLE).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
from pathlib import Path
from typing import Any

from videolens.services.channels.models import Channel, Input, InputDestination, SecurityGroup


class ChannelStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.groups: dict[str, SecurityGroup] = {}
        self.inputs: dict[str, Input] = {}
        self.channels: dict[str, Channel] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.is_file():
            return
        doc = json.loads(self.path.read_text())
        self.groups = {g["id"]: SecurityGroup(**g) for g in doc.get("groups", [])}
        for raw in doc.get("inputs", []):
            raw["destinations"] = [InputDestination(**d) for d in raw.get("destinations", [])]
            self.inputs[raw["id"]] = Input(**raw)
        for raw in doc.get("channels", []):
            channel = Channel(**raw)
            if channel.state in ("STARTING", "RUNNING", "STOPPING", "CREATING"):
                channel.state = "IDLE"  # the process that ran it is gone
            self.channels[channel.id] = channel

    def save(self) -> None:
        with self.lock:
            doc: dict[str, Any] = {
                "groups": [dataclasses.asdict(g) for g in self.groups.values()],
                "inputs": [dataclasses.asdict(i) for i in self.inputs.values()],
                "channels": [dataclasses.asdict(c) for c in self.channels.values()],
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(doc))
            tmp.replace(self.path)

    def new_id(self) -> str:
        """A 7-digit id, as MediaLive's, unique across the three kinds."""
        with self.lock:
            while True:
                candidate = str(1_000_000 + secrets.randbelow(9_000_000))
                if (
                    candidate not in self.groups
                    and candidate not in self.inputs
                    and candidate not in self.channels
                ):
                    return candidate
