"""The one pagination-token scheme: opaque, bound to its listing, tamper-evident, one typed error."""

from __future__ import annotations

import re

import pytest

from videolens.services.errors import InvalidPaginationTokenError, InvalidParameterError
from videolens.services.pagination import decode_token, encode_token

#: every AWS NextToken pattern of the facades accepts this alphabet (KVS: [a-zA-Z0-9+/=]*)
KVS_PATTERN = re.compile(r"^[a-zA-Z0-9+/=]*$")


def test_round_trip_and_alphabet() -> None:
    state = {"after": 41, "s": "TIMESTAMP", "j": "0123456789abcdef", "m": "cam/é/ü+ x.mkv"}
    token = encode_token("job-results", state)
    assert decode_token("job-results", token) == state
    assert re.fullmatch(r"[a-z2-7]+", token) and KVS_PATTERN.match(token)
    assert len(encode_token("job-results", {"o": 1000, "s": "TIMESTAMP", "j": "f" * 16})) < 255
    assert decode_token("faces", encode_token("faces", {})) == {}


def test_a_token_of_another_listing_is_refused() -> None:
    token = encode_token("streams", {"after": 3})
    with pytest.raises(InvalidPaginationTokenError) as err:
        decode_token("fragments", token)
    assert isinstance(err.value, InvalidParameterError) and err.value.code == "invalid-pagination-token"


@pytest.mark.parametrize("bad", ["", "!!bogus!!", "a", "mfrgg", "ab" * 40, "é"])
def test_garbage_is_refused_with_the_typed_error(bad: str) -> None:
    with pytest.raises(InvalidPaginationTokenError):
        decode_token("objects", bad)


def test_an_edited_token_is_refused() -> None:
    token = encode_token("objects", {"m": "a/b.txt"})
    flipped = token[:-3] + ("a" if token[-3] != "a" else "b") + token[-2:]
    with pytest.raises(InvalidPaginationTokenError):
        decode_token("objects", flipped)
    with pytest.raises(InvalidPaginationTokenError):
        decode_token("objects", token[:-4])
