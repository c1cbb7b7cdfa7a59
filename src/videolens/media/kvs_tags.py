"""Kinesis Video Streams Matroska tags (fragment number, timestamps, continuation token, errors)."""

from __future__ import annotations

from videolens.media import ebml

FRAGMENT_NUMBER = "AWS_KINESISVIDEO_FRAGMENT_NUMBER"
SERVER_TIMESTAMP = "AWS_KINESISVIDEO_SERVER_TIMESTAMP"
PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"
MILLIS_BEHIND_NOW = "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"
CONTINUATION_TOKEN = "AWS_KINESISVIDEO_CONTINUATION_TOKEN"
ERROR_CODE = "AWS_KINESISVIDEO_ERROR_CODE"
ERROR_ID = "AWS_KINESISVIDEO_ERROR_ID"
# GetMediaForFragmentList documents different names for the same facts
FRAGMENT_LIST_SERVER_TIMESTAMP = "AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP"
FRAGMENT_LIST_PRODUCER_TIMESTAMP = "AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP"


def format_timestamp(epoch_seconds: float) -> str:
    """KVS writes timestamps as epoch seconds with millisecond precision: "1726677687.758"."""
    return f"{epoch_seconds:.3f}"


def tags_element(tags: list[tuple[str, str]]) -> bytes:
    """One Tags element holding one Tag (empty Targets = whole segment) with a SimpleTag per pair."""
    simple = b"".join(
        ebml.element(
            ebml.SIMPLE_TAG,
            ebml.string_element(ebml.TAG_NAME, name) + ebml.string_element(ebml.TAG_STRING, value),
        )
        for name, value in tags
    )
    tag = ebml.element(ebml.TAG, ebml.element(ebml.TARGETS, b"") + simple)
    return ebml.element(ebml.TAGS, tag)


def fragment_tags(
    fragment_number: str, server_timestamp: float, producer_timestamp: float, *, fragment_list: bool = False
) -> bytes:
    """The Tags element GetMedia puts before each fragment's Cluster."""
    server_name = FRAGMENT_LIST_SERVER_TIMESTAMP if fragment_list else SERVER_TIMESTAMP
    producer_name = FRAGMENT_LIST_PRODUCER_TIMESTAMP if fragment_list else PRODUCER_TIMESTAMP
    return tags_element(
        [
            (FRAGMENT_NUMBER, fragment_number),
            (server_name, format_timestamp(server_timestamp)),
            (producer_name, format_timestamp(producer_timestamp)),
        ]
    )


def trailing_tags(millis_behind_now: int, continuation_token: str) -> bytes:
    """The Tags element GetMedia puts after each fragment's Cluster."""
    return tags_element(
        [(MILLIS_BEHIND_NOW, str(max(0, millis_behind_now))), (CONTINUATION_TOKEN, continuation_token)]
    )


def error_tags(error_code: str, error_id: int) -> bytes:
    """In-band error of a GetMedia stream whose 200 header has already gone out."""
    return tags_element([(ERROR_CODE, error_code), (ERROR_ID, str(error_id))])


def parse_tags(raw: bytes) -> list[tuple[str, str]]:
    """(name, value) pairs of every SimpleTag in a Tags element."""
    header = ebml.read_element_header(raw, 0)
    if header is None or header[0] != ebml.TAGS:
        raise ebml.EbmlError("not a Tags element")
    pairs: list[tuple[str, str]] = []
    for tag in ebml.iter_children(raw, header[2], header[2] + header[1]):
        if tag.id != ebml.TAG:
            continue
        body = tag.payload(raw)
        for simple in ebml.iter_children(body):
            if simple.id != ebml.SIMPLE_TAG:
                continue
            fields = simple.payload(body)
            name = value = ""
            for child in ebml.iter_children(fields):
                if child.id == ebml.TAG_NAME:
                    name = child.payload(fields).decode("utf-8")
                elif child.id == ebml.TAG_STRING:
                    value = child.payload(fields).decode("utf-8")
            pairs.append((name, value))
    return pairs
