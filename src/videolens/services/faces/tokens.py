"""Opaque, tamper-evident pagination tokens (Rekognition allows at most 255 characters)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from videolens.services.errors import InvalidPaginationTokenError

# Tokens are not secrets; the MAC only catches truncated or hand-edited tokens early.
_MAC_KEY = b"videolens-pagination-v1"


def encode_token(kind: str, state: dict[str, Any]) -> str:
    body = json.dumps({"k": kind, **state}, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_MAC_KEY, body, hashlib.sha256).digest()[:8]
    return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")


def decode_token(kind: str, token: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        mac, body = raw[:8], raw[8:]
        if not hmac.compare_digest(mac, hmac.new(_MAC_KEY, body, hashlib.sha256).digest()[:8]):
            raise ValueError("bad mac")
        state = json.loads(body)
        if not isinstance(state, dict) or state.pop("k", None) != kind:
            raise ValueError("wrong kind")
        return state
    except (ValueError, TypeError) as exc:
        raise InvalidPaginationTokenError(f"invalid pagination token: {token[:40]!r}") from exc
