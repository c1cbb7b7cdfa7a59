"""Stream ARNs, fragment numbers and opaque page/continuation tokens of the streams capability."""

from __future__ import annotations

import base64
import re

from videolens.services.errors import InvalidPaginationTokenError, InvalidParameterError

#: fragment numbers look like AWS's (47 decimal digits) and sort lexicographically = numerically
FRAGMENT_PREFIX = "91343852333181432"
FRAGMENT_DIGITS = 30
NAME_RE = re.compile(r"^[a-zA-Z0-9_.\-]{1,256}$")
ARN_RE = re.compile(r"^arn:aws[a-z-]*:kinesisvideo:([a-z0-9-]+):(\d+):stream/([a-zA-Z0-9_.\-]+)/(\d+)$")


def stream_arn(region: str, account: str, name: str, created_ms: int) -> str:
    return f"arn:aws:kinesisvideo:{region}:{account}:stream/{name}/{created_ms}"


def name_from_arn(arn: str) -> str:
    match = ARN_RE.match(arn)
    if match is None:
        raise InvalidParameterError(f"invalid stream ARN: {arn}")
    return match.group(3)


def fragment_number(row_id: int) -> str:
    return f"{FRAGMENT_PREFIX}{row_id:0{FRAGMENT_DIGITS}d}"


def fragment_id(number: str) -> int:
    """The row id behind a fragment number (raises InvalidParameterError for foreign numbers)."""
    if not number.isdigit() or not number.startswith(FRAGMENT_PREFIX) or len(number) != 47:
        raise InvalidParameterError(f"invalid fragment number: {number}")
    return int(number[len(FRAGMENT_PREFIX) :])


def encode_token(value: int) -> str:
    return base64.b64encode(f"v1:{value}".encode()).decode()


def decode_token(token: str) -> int:
    try:
        text = base64.b64decode(token, validate=True).decode()
        prefix, _, value = text.partition(":")
        if prefix != "v1":
            raise ValueError(prefix)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPaginationTokenError("invalid NextToken") from exc
