"""The one pagination-token scheme: opaque, tamper-evident tokens bound to the listing that issued them.

Every paginated listing (faces, collections, jobs, topics, streams, fragments, S3 objects...) encodes its
resume state as `encode_token(kind, state)` and reads it back with `decode_token(kind, token)`; a token
of another kind, a truncated or hand-edited one raises `InvalidPaginationTokenError` (an invalid
parameter), which each front door maps to its own error (Rekognition InvalidPaginationTokenException,
KVS InvalidArgumentException, S3 InvalidArgument, REST problem+json). Tokens stay well under
Rekognition's 255 characters for small states. The alphabet is lower-case base32 without padding: safe
in URLs and query strings unescaped, and inside every AWS NextToken pattern (`[a-zA-Z0-9+/=]*`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from videolens.services.errors import InvalidPaginationTokenError

# Tokens are not secrets; the MAC only catches truncated or hand-edited tokens early.
_MAC_KEY = b"videolens-pagination-v1"


def encode_token(kind: str, state: dict[str, Any]) -> str:
    """An opaque token carrying `state` (JSON values) for the listing `kind`."""
    body = json.dumps({"k": kind, **state}, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_MAC_KEY, body, hashlib.sha256).digest()[:8]
    return base64.b32encode(mac + body).decode().rstrip("=").lower()


def decode_token(kind: str, token: str) -> dict[str, Any]:
    """The state of a token `encode_token(kind, ...)` issued; InvalidPaginationTokenError otherwise."""
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8), casefold=True)
        mac, body = raw[:8], raw[8:]
        if not hmac.compare_digest(mac, hmac.new(_MAC_KEY, body, hashlib.sha256).digest()[:8]):
            raise ValueError("bad mac")
        state = json.loads(body)
        if not isinstance(state, dict) or state.pop("k", None) != kind:
            raise ValueError("wrong kind")
        return state
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidPaginationTokenError(f"invalid pagination token: {token[:40]!r}") from exc
