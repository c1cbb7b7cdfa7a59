"""EBML varints and element encoding round trips."""

from __future__ import annotations

import pytest

from videolens.media import ebml


@pytest.mark.parametrize("value", [0, 1, 126, 127, 128, 16382, 16383, 2**21, 2**35, 2**56 - 2])
def test_size_round_trip(value: int) -> None:
    encoded = ebml.encode_size(value)
    assert ebml.read_vint(encoded, 0, keep_marker=False) == (value, len(encoded))


def test_size_lengths_skip_the_reserved_all_ones_value() -> None:
    assert ebml.encode_size(126) == b"\xfe"
    assert ebml.encode_size(127) == b"\x40\x7f"  # 0xff would mean "unknown"
    assert ebml.encode_size(5, 4) == b"\x10\x00\x00\x05"
    with pytest.raises(ebml.EbmlError):
        ebml.encode_size(2**14, 2)


def test_unknown_size_marker() -> None:
    assert ebml.read_vint(b"\xff", 0, keep_marker=False) == (ebml.UNKNOWN_SIZE, 1)
    assert ebml.read_vint(b"\x01\xff\xff\xff\xff\xff\xff\xff", 0, keep_marker=False) == (ebml.UNKNOWN_SIZE, 8)
    assert ebml.unknown_size_header(ebml.SEGMENT) == bytes.fromhex("18538067 01ffffffffffffff")


def test_element_header_and_ids() -> None:
    data = ebml.uint_element(ebml.TIMECODE_SCALE, 1_000_000)
    assert data == bytes.fromhex("2ad7b1 83 0f4240")
    assert ebml.read_element_header(data, 0) == (ebml.TIMECODE_SCALE, 3, 4)
    assert ebml.read_element_header(data[:3], 0) is None  # incomplete: wait for more bytes
    assert ebml.read_element_header(b"", 0) is None
    with pytest.raises(ebml.EbmlError):
        ebml.read_vint(b"\x00\x01", 0, keep_marker=True)


def test_iter_children_and_values() -> None:
    payload = ebml.string_element(ebml.DOC_TYPE, "matroska") + ebml.uint_element(ebml.DOC_TYPE_VERSION, 4)
    children = list(ebml.iter_children(payload))
    assert [c.id for c in children] == [ebml.DOC_TYPE, ebml.DOC_TYPE_VERSION]
    assert children[0].payload(payload) == b"matroska"
    assert ebml.read_uint(children[1].payload(payload)) == 4
    assert ebml.read_float(bytes.fromhex("40240000 00000000")) == 10.0
    with pytest.raises(ebml.EbmlError):
        list(ebml.iter_children(payload[:-1]))
