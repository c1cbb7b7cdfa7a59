"""The public view of a registered model (what list / describe return in every front door)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from videolens.services.errors import InvalidParameterError

#: SageMaker's EndpointName rule, so every registered model can be invoked through InvokeEndpoint
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
#: config keys whose values are secrets: shown as "***"
SECRET_KEYS = ("headers",)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 63 or not _NAME_RE.match(name):
        raise InvalidParameterError(
            f"invalid model name {name!r}: 1-63 letters, digits and inner hyphens (SageMaker's endpoint rule)"
        )
    return name


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: str
    config: dict[str, Any]
    created_at: datetime
    version: str
    #: facts learnt at registration (output shapes, remote input, providers)
    details: dict[str, Any] = field(default_factory=dict)
    file_size: int | None = None
    file_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "config": self.config,
            "details": self.details,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "file_size": self.file_size,
            "file_sha256": self.file_sha256,
        }


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    for key in SECRET_KEYS:
        if isinstance(out.get(key), dict) and out[key]:
            out[key] = {k: "***" for k in out[key]}
    return out
