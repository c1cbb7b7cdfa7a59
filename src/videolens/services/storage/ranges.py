"""HTTP Range header parsing for object reads (one range, as S3 supports)."""

from __future__ import annotations

import re

from videolens.services.storage.errors import InvalidRangeError

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) of a `bytes=a-b` / `bytes=a-` / `bytes=-n` header; None = whole object.

    A malformed or multi-range header is ignored (whole object), like S3; a range that starts past
    the end raises InvalidRangeError (416).
    """
    if not header:
        return None
    m = _RANGE_RE.match(header.strip())
    if m is None or (not m[1] and not m[2]):
        return None
    if not m[1]:
        length = int(m[2])
        if length == 0:
            raise InvalidRangeError("The requested range is not satisfiable")
        return max(0, size - length), size
    start = int(m[1])
    end = int(m[2]) + 1 if m[2] else size
    if start >= size or (m[2] and int(m[2]) < start):
        raise InvalidRangeError("The requested range is not satisfiable")
    return start, min(end, size)
