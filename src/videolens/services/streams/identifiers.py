"""Stream ARNs and fragment numbers of the streams capability (page tokens: `services/pagination.py`)."""

from __future__ import annotations

import re

from videolens.services.errors import InvalidParameterError

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
