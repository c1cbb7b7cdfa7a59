"""XML values by botocore shape (rest-xml bodies and query-protocol responses), both directions."""

from __future__ import annotations

import base64
from typing import Any
from xml.etree import ElementTree as ET

from botocore.model import Shape

from videolens.api.aws.errors import ParamValidationError
from videolens.api.aws.shape_values import decode_blob, format_timestamp, from_string


def _text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "timestamp":
        return str(format_timestamp(shape, value, "iso8601"))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind in ("float", "double"):
        return repr(float(value))
    return str(value)


def append(parent: ET.Element, shape: Shape, value: Any, name: str) -> None:
    """Append `value` under `parent` as element(s) named `name` (lists/maps may be flattened)."""
    kind = shape.type_name
    if kind == "list":
        member = shape.member
        if shape.serialization.get("flattened"):
            item_name = member.serialization.get("name", name)
            for item in value:
                append(parent, member, item, item_name)
        else:
            wrapper = ET.SubElement(parent, name)
            item_name = member.serialization.get("name", "member")
            for item in value:
                append(wrapper, member, item, item_name)
        return
    if kind == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        if shape.serialization.get("flattened"):
            for k, v in value.items():
                entry = ET.SubElement(parent, name)
                append(entry, shape.key, k, key_name)
                append(entry, shape.value, v, value_name)
        else:
            wrapper = ET.SubElement(parent, name)
            for k, v in value.items():
                entry = ET.SubElement(wrapper, "entry")
                append(entry, shape.key, k, key_name)
                append(entry, shape.value, v, value_name)
        return
    element = ET.SubElement(parent, name)
    if kind == "structure":
        fill_structure(element, shape, value)
    else:
        element.text = _text(shape, value)


def fill_structure(
    element: ET.Element, shape: Shape, value: dict[str, Any], skip: set[str] | None = None
) -> None:
    """Members of a structure as children of `element`; unknown members are a bug (TypeError)."""
    for key, item in value.items():
        if skip and key in skip:
            continue
        member = shape.members.get(key)
        if member is None:
            raise TypeError(f"{shape.name}: unknown output member {key!r}")
        if item is None:
            continue
        if member.serialization.get("xmlAttribute"):
            element.set(member.serialization.get("name", key), _text(member, item))
            continue
        append(element, member, item, member.serialization.get("name", key))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_structure(shape: Shape, element: ET.Element) -> dict[str, Any]:
    """Children of `element` → dict of members (the inverse of `fill_structure`)."""
    out: dict[str, Any] = {}
    children = list(element)
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        wire = member.serialization.get("name", name)
        if member.type_name == "list" and member.serialization.get("flattened"):
            item_name = member.member.serialization.get("name", wire)
            items = [c for c in children if _local(c.tag) == item_name]
            if items:
                out[name] = [_parse(member.member, c) for c in items]
            continue
        for child in children:
            if _local(child.tag) == wire:
                out[name] = _parse(member, child)
                break
    return out


def _parse(shape: Shape, element: ET.Element) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return parse_structure(shape, element)
    if kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        return [_parse(shape.member, c) for c in element if _local(c.tag) == item_name]
    if kind == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out: dict[str, Any] = {}
        for entry in element:
            k = entry.find(f"{{*}}{key_name}")
            if k is None:
                k = entry.find(key_name)
            v = entry.find(f"{{*}}{value_name}")
            if v is None:
                v = entry.find(value_name)
            if k is not None and v is not None:
                out[k.text or ""] = _parse(shape.value, v)
        return out
    text = element.text or ""
    if kind == "blob":
        return decode_blob(text, shape.name)
    if kind == "string":
        return text
    return from_string(shape, text.strip(), shape.name)


def parse_document(shape: Shape, body: bytes) -> dict[str, Any]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ParamValidationError("The XML you provided was not well-formed") from exc
    return parse_structure(shape, root)
