"""Per-shard checkpoints of a consumer: the last sequence number handled, or SHARD_END."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

#: the checkpoint of a shard that was read to its end (closed by a split or merge)
SHARD_END = "SHARD_END"


class Checkpoints(Protocol):
    """Where the consumer keeps, per shard, the last sequence number handled (or SHARD_END)."""

    def get(self, shard_id: str) -> str | None: ...

    def set(self, shard_id: str, value: str) -> None: ...


@dataclass
class MemoryCheckpoints:
    values: dict[str, str] = field(default_factory=dict)

    def get(self, shard_id: str) -> str | None:
        return self.values.get(shard_id)

    def set(self, shard_id: str, value: str) -> None:
        self.values[shard_id] = value


class FileCheckpoints:
    """Checkpoints in a JSON file, replaced atomically on each update (survives a crash of the reader)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.values: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, shard_id: str) -> str | None:
        return self.values.get(shard_id)

    def set(self, shard_id: str, value: str) -> None:
        self.values[shard_id] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        with os.fdopen(fd, "w") as f:
            json.dump(self.values, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
