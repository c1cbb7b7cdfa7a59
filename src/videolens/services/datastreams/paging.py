"""Kinesis pagination tokens (ListStreams, ListShards, ListStreamConsumers) on the shared signed scheme."""

from __future__ import annotations

from videolens.services.datastreams.errors import ExpiredNextTokenError
from videolens.services.errors import InvalidPaginationTokenError
from videolens.services.pagination import decode_token, encode_token


def encode_after(kind: str, after: str) -> str:
    return encode_token(f"kinesis.{kind}", {"a": after})


def decode_after(kind: str, token: str) -> str:
    try:
        return str(decode_token(f"kinesis.{kind}", token)["a"])
    except (InvalidPaginationTokenError, KeyError):
        raise ExpiredNextTokenError(f"Invalid NextToken: {token[:40]}") from None


def encode_shards_token(stream: str, after: int) -> str:
    return encode_token("kinesis.shards", {"s": stream, "a": after})


def decode_shards_token(token: str) -> tuple[str, int]:
    try:
        state = decode_token("kinesis.shards", token)
        return str(state["s"]), int(state["a"])
    except (InvalidPaginationTokenError, KeyError, ValueError, TypeError):
        raise ExpiredNextTokenError(f"Invalid NextToken: {token[:40]}") from None
