"""AWS query protocol (SNS): form-encoded `Action=...` requests in, XML `<OpResponse>` documents out."""

from __future__ import annotations

import urllib.parse
from typing import Any
from xml.etree import ElementTree as ET

from botocore.model import OperationModel, ServiceModel, Shape

from videolens.api.aws.errors import AwsError
from videolens.api.aws.shape_values import from_string
from videolens.api.aws.shape_xml import fill_structure
from videolens.api.aws.wire import WireRequest, WireResponse


def _form(req: WireRequest) -> dict[str, str]:
    params = dict(req.query)
    if req.body:
        try:
            text = req.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AwsError("MalformedQueryString", "Request body is not UTF-8") from exc
        params.update(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return params


def _has_prefix(params: dict[str, str], prefix: str) -> bool:
    dotted = prefix + "."
    return any(k == prefix or k.startswith(dotted) for k in params)


def _parse(shape: Shape, prefix: str, params: dict[str, str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            key = f"{prefix}.{wire}" if prefix else wire
            if _has_prefix(params, key):
                out[name] = _parse(member, key, params)
        return out
    if kind == "list":
        if shape.serialization.get("flattened"):
            base = prefix
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = []
        i = 1
        while _has_prefix(params, f"{base}.{i}"):
            items.append(_parse(shape.member, f"{base}.{i}", params))
            i += 1
        return items
    if kind == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        result: dict[str, Any] = {}
        i = 1
        while _has_prefix(params, f"{base}.{i}"):
            k = params.get(f"{base}.{i}.{key_name}", "")
            result[k] = _parse(shape.value, f"{base}.{i}.{value_name}", params)
            i += 1
        return result
    text = params.get(prefix, "")
    return text if kind == "string" else from_string(shape, text, prefix)


class QueryCodec:
    def find_operation(self, model: ServiceModel, req: WireRequest) -> OperationModel | None:
        action = _form(req).get("Action")
        if not action:
            return None
        if action not in model.operation_names:
            raise AwsError("InvalidAction", f"The action {action} is not valid for this web service.")
        return model.operation_model(action)

    def parse(self, op: OperationModel, req: WireRequest) -> dict[str, Any]:
        shape = op.input_shape
        if shape is None:
            return {}
        params = _form(req)
        parsed: dict[str, Any] = _parse(shape, "", params)
        return parsed

    def serialize(self, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse:
        ns = op.service_model.metadata.get("xmlNamespace", "")
        root = ET.Element(f"{op.name}Response", {"xmlns": ns} if ns else {})
        shape = op.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper") or f"{op.name}Result"
            result = ET.SubElement(root, wrapper)
            fill_structure(result, shape, output)
        elif output:
            raise TypeError(f"{op.name} has no output members")
        meta = ET.SubElement(root, "ResponseMetadata")
        ET.SubElement(meta, "RequestId").text = request_id
        return WireResponse(
            200,
            [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)],
            ET.tostring(root, xml_declaration=True, encoding="utf-8"),
        )

    def serialize_error(
        self, model: ServiceModel, err: AwsError, request_id: str, req: WireRequest
    ) -> WireResponse:
        ns = model.metadata.get("xmlNamespace", "")
        root = ET.Element("ErrorResponse", {"xmlns": ns} if ns else {})
        error = ET.SubElement(root, "Error")
        ET.SubElement(error, "Type").text = "Sender" if err.sender_fault else "Receiver"
        ET.SubElement(error, "Code").text = err.code
        ET.SubElement(error, "Message").text = err.message
        ET.SubElement(root, "RequestId").text = request_id
        return WireResponse(
            err.status,
            [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)],
            ET.tostring(root, xml_declaration=True, encoding="utf-8"),
        )
