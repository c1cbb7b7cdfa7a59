"""Checks a raw AWS response body against the botocore output shape: known members only, valid values."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from botocore.model import OperationModel, Shape

from videolens.api.aws.shape_values import decode_json
from videolens.api.aws.validate import validate


def _json_members(shape: Shape, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected object"
        for key, item in value.items():
            assert key in shape.members, f"{path}: unknown member {key!r}"
            _json_members(shape.members[key], item, f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected list"
        for i, item in enumerate(value):
            _json_members(shape.member, item, f"{path}[{i}]")
    elif kind == "map":
        for k, item in value.items():
            _json_members(shape.value, item, f"{path}[{k}]")


def check_json_body(op: OperationModel, body: bytes) -> None:
    shape = op.output_shape
    doc = json.loads(body or b"{}")
    if shape is None:
        assert doc == {}, f"{op.name}: output without a shape"
        return
    payload = shape.serialization.get("payload")
    if payload:
        shape = shape.members[payload]
    _json_members(shape, doc, op.name)
    # values: types, enums, ranges, max lengths and patterns the model declares
    validate(shape, decode_json(shape, doc), op.name)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_members(shape: Shape, element: ET.Element, path: str) -> None:
    if shape.type_name != "structure":
        return
    names: dict[str, Shape] = {}
    for name, member in shape.members.items():
        wire = member.serialization.get("name", name)
        if member.type_name == "list" and member.serialization.get("flattened"):
            names[member.member.serialization.get("name", wire)] = member.member
        else:
            names[wire] = member
    for child in element:
        tag = _local(child.tag)
        assert tag in names, f"{path}: unknown element <{tag}>"
        member = names[tag]
        if member.type_name == "list" and not member.serialization.get("flattened"):
            for item in child:
                _xml_members(member.member, item, f"{path}.{tag}")
        else:
            _xml_members(member, child, f"{path}.{tag}")


def check_xml_body(op: OperationModel, body: bytes) -> None:
    shape = op.output_shape
    if not body.strip():
        return
    assert shape is not None, f"{op.name}: body without an output shape"
    payload = shape.serialization.get("payload")
    if payload:
        shape = shape.members[payload]
    _xml_members(shape, ET.fromstring(body), op.name)
