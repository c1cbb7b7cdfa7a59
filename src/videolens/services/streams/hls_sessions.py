"""Stateless HLS session tokens: what a playback URL may read, signed with the server's key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from videolens.services.errors import AuthError


@dataclass(frozen=True)
class HlsSession:
    stream: str
    mode: str  # LIVE | LIVE_REPLAY | ON_DEMAND
    kind: str  # PRODUCER_TIMESTAMP | SERVER_TIMESTAMP
    start: float | None
    end: float | None
    expires: float
    container: str  # MPEG_TS | FRAGMENTED_MP4 (served as MPEG-TS segments either way)
    max_results: int
    base: float  # epoch seconds subtracted from segment timestamps (keeps MPEG-TS clocks small)
    discontinuity: str = "ALWAYS"
    #: id of the credential that asked for the session (secure mode checks it is still active)
    issuer: str | None = None


class HlsTokens:
    def __init__(self, key_file: Path) -> None:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:  # created atomically: processes starting together must agree on one key
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
        for _ in range(100):  # the creator may not have written it yet
            self._key = key_file.read_bytes()
            if len(self._key) == 32:
                break
            time.sleep(0.01)

    def issue(self, session: HlsSession) -> str:
        body = base64.urlsafe_b64encode(json.dumps(asdict(session), separators=(",", ":")).encode()).rstrip(
            b"="
        )
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:16]
        return body.decode() + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def read(self, token: str) -> HlsSession:
        body, _, mac = token.partition(".")
        expected = base64.urlsafe_b64encode(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:16])
        # compared as bytes: compare_digest refuses non-ASCII str (a fuzzed token is any text)
        if not mac or not hmac.compare_digest(expected.rstrip(b"="), mac.encode()):
            raise AuthError("invalid HLS session token")
        try:
            doc = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = HlsSession(**doc)
        except (ValueError, TypeError) as exc:
            raise AuthError("invalid HLS session token") from exc
        if session.expires < time.time():
            raise AuthError("HLS session expired")
        return session
