"""AWS event-stream framing (`application/vnd.amazon.eventstream`), as botocore's EventStream parses it.

A message is: total length (u32) · headers length (u32) · CRC-32 of those 8 bytes · headers · payload ·
CRC-32 of everything before. A header is name length (u8) · name · type 7 (string) · length (u16) · value.
"""

from __future__ import annotations

import struct
import zlib

_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
CONTENT_TYPE = "application/vnd.amazon.eventstream"


def _headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    return bytes(out)


def message(headers: dict[str, str], payload: bytes) -> bytes:
    head = _headers(headers)
    total = _PRELUDE.size + _CRC.size + len(head) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(head))
    body = prelude + _CRC.pack(zlib.crc32(prelude)) + head + payload
    return body + _CRC.pack(zlib.crc32(body))


def event(event_type: str, payload: bytes, content_type: str = "application/x-amz-json-1.1") -> bytes:
    return message(
        {":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, payload
    )


def exception(code: str, payload: bytes, content_type: str = "application/x-amz-json-1.1") -> bytes:
    return message(
        {":exception-type": code, ":content-type": content_type, ":message-type": "exception"}, payload
    )
