"""Shard iterators: opaque, HMAC-signed tokens naming (stream, shard, start position, issue time).

A token is base64url(payload ‖ HMAC-SHA256(payload)[:16]); the key is shared by every process on the
metadata store, so an iterator from one videolens process works on another. Altering any byte
fails the MAC (InvalidArgumentException); one older than the TTL is ExpiredIteratorException.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass

from videolens.backends.datastreams.base import Position
from videolens.services.datastreams.errors import ExpiredIteratorError, InvalidArgumentError

_BODY = struct.Struct(">B24sIQQQ")  # version, stream key, shard, ms, seq, issued ms
_VERSION = 1
_MAC_LEN = 16


@dataclass(frozen=True, slots=True)
class IteratorState:
    stream_key: str
    shard: int
    start: Position
    issued_ms: int


class IteratorCodec:
    def __init__(self, key: bytes, ttl_s: float) -> None:
        self._key = key
        self.ttl_ms = int(ttl_s * 1000)

    def encode(self, stream_key: str, shard: int, start: Position, now_ms: int | None = None) -> str:
        issued = int(time.time() * 1000) if now_ms is None else now_ms
        body = _BODY.pack(_VERSION, stream_key.encode(), shard, start.ms, start.seq, issued)
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_LEN]
        return base64.urlsafe_b64encode(body + mac).decode()

    def decode(self, token: str) -> IteratorState:
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise InvalidArgumentError("Invalid ShardIterator.") from None
        if len(raw) != _BODY.size + _MAC_LEN:
            raise InvalidArgumentError("Invalid ShardIterator.")
        body, mac = raw[: _BODY.size], raw[_BODY.size :]
        if not hmac.compare_digest(hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_LEN], mac):
            raise InvalidArgumentError("Invalid ShardIterator.")
        version, key, shard, ms, seq, issued = _BODY.unpack(body)
        if version != _VERSION:
            raise InvalidArgumentError("Invalid ShardIterator.")
        now = int(time.time() * 1000)
        if now - issued > self.ttl_ms:
            raise ExpiredIteratorError(
                f"Iterator expired. The iterator was created at time {_amz_time(issued)} while right now "
                f"it is {_amz_time(now)} which is further in the future than the tolerated delay of "
                f"{self.ttl_ms} milliseconds."
            )
        return IteratorState(key.rstrip(b"\0").decode(), shard, Position(ms, seq), issued)


def _amz_time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
