"""HTTP bindings shared by rest-json and rest-xml: route matching by requestUri, uri/query/header
members in, header/status members out. All read from the operation model."""

from __future__ import annotations

import functools
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from videolens.api.aws.shape_values import from_string, to_header
from videolens.api.aws.wire import WireRequest

#: query literals in requestUri that botocore never sends (routing hints of newer models)
_IGNORED_LITERALS = {"x-id"}


@dataclass(frozen=True)
class _Route:
    op_name: str
    method: str
    regex: re.Pattern[str]
    literals: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    static_len: int


_HYPHEN = "_hyphen_"


def _compile(op: OperationModel) -> _Route:
    uri = op.http["requestUri"]
    path, _, query = uri.partition("?")
    literals: list[tuple[str, str | None]] = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        if key not in _IGNORED_LITERALS:
            literals.append((key, value if eq else None))
    pattern = ""
    static_len = 0
    for token in re.split(r"(\{[^}]+\})", path):
        if token.startswith("{"):
            label = token[1:-1]
            greedy = label.endswith("+")
            label = label.rstrip("+")
            # a label may hold '-' (MediaLive's {resource-arn}), which a regex group name cannot
            group = label.replace("-", _HYPHEN)
            pattern += f"(?P<{group}>{'.+' if greedy else '[^/]+'})"
        else:
            pattern += re.escape(token)
            static_len += len(token)
    if path != "/" and not path.endswith("}"):
        pattern += "/?"
    input_shape = op.input_shape
    required = tuple(
        m.serialization.get("name", n)
        for n, m in (input_shape.members.items() if input_shape else [])
        if m.serialization.get("location") == "querystring" and n in input_shape.required_members
    )
    headers = tuple(
        m.serialization.get("name", n).lower()
        for n, m in (input_shape.members.items() if input_shape else [])
        if m.serialization.get("location") == "header" and n in input_shape.required_members
    )
    return _Route(
        op.name, op.http["method"], re.compile(pattern), tuple(literals), required, headers, static_len
    )


@functools.cache
def _routes(model: ServiceModel) -> tuple[_Route, ...]:
    return tuple(_compile(model.operation_model(name)) for name in model.operation_names)


def match_operation(model: ServiceModel, req: WireRequest) -> tuple[OperationModel, dict[str, str]] | None:
    """The most specific operation whose method, path template and query literals fit the request."""
    path = req.raw_path or "/"
    if req.host_bucket is not None:
        path = "/" + req.host_bucket + (path if path != "/" else "")
    query = req.query_dict()
    best: tuple[tuple[int, int, int], _Route, dict[str, str]] | None = None
    for route in _routes(model):
        if route.method != req.method:
            continue
        m = route.regex.fullmatch(path)
        if m is None:
            continue
        if any(k not in query or (v is not None and query[k] != v) for k, v in route.literals):
            continue
        if any(k not in query for k in route.required_query):
            continue
        if any(h not in req.headers for h in route.required_headers):
            continue
        score = (
            len(route.literals),
            len(route.required_query) + len(route.required_headers),
            route.static_len,
        )
        if best is None or score > best[0]:
            labels = {k.replace(_HYPHEN, "-"): urllib.parse.unquote(v) for k, v in m.groupdict().items()}
            best = (score, route, labels)
    if best is None:
        return None
    return model.operation_model(best[1].op_name), best[2]


def parse_bindings(op: OperationModel, req: WireRequest, labels: dict[str, str]) -> dict[str, Any]:
    """Members bound to the URI, the query string and headers."""
    shape = op.input_shape
    out: dict[str, Any] = {}
    if shape is None:
        return out
    query: dict[str, list[str]] = {}
    for k, v in req.query:
        query.setdefault(k, []).append(v)
    for name, member in shape.members.items():
        loc = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if loc == "uri":
            if wire in labels:
                out[name] = from_string(member, labels[wire], name)
        elif loc == "querystring":
            if member.type_name == "map":
                out[name] = {k: v[0] for k, v in query.items()}
            elif member.type_name == "list" and wire in query:
                out[name] = [from_string(member.member, v, name) for v in query[wire]]
            elif wire in query:
                out[name] = from_string(member, query[wire][0], name)
        elif loc == "header":
            value = req.headers.get(wire.lower())
            if value is not None:
                out[name] = from_string(member, value, name)
        elif loc == "headers":
            prefix = wire.lower()
            found = {k[len(prefix) :]: v for k, v in req.headers.items() if k.startswith(prefix)}
            if found:
                out[name] = found
    return out


def bound_members(shape: Shape | None) -> set[str]:
    """Names of members that live outside the body (uri, query, headers, status)."""
    if shape is None:
        return set()
    return {n for n, m in shape.members.items() if m.serialization.get("location")}


def serialize_bindings(
    shape: Shape | None, output: dict[str, Any], default_status: int
) -> tuple[int, list[tuple[str, str]]]:
    """Status code and headers from header/headers/statusCode members of the output."""
    status = default_status
    headers: list[tuple[str, str]] = []
    if shape is None:
        return status, headers
    for name, member in shape.members.items():
        value = output.get(name)
        if value is None:
            continue
        loc = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if loc == "header":
            headers.append((wire, to_header(member, value)))
        elif loc == "headers":
            headers.extend((wire + k, str(v)) for k, v in value.items())
        elif loc == "statusCode":
            status = int(value)
    return status, headers
