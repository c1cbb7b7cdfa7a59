"""rest-xml codec (S3): routes by method + path + sub-resource, binds uri/query/header members,
parses XML payloads, and encodes XML / header / streaming outputs and `<Error>` documents."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from botocore.model import OperationModel, ServiceModel

from videolens.api.aws.errors import AwsError
from videolens.api.aws.rest_binding import bound_members, match_operation, parse_bindings, serialize_bindings
from videolens.api.aws.shape_xml import fill_structure, parse_document
from videolens.api.aws.wire import Body, WireRequest, WireResponse

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
#: root element names AWS uses where the model leaves them out (botocore ignores the root name)
_ROOTS = {
    "ListObjectsV2": "ListBucketResult",
    "ListObjects": "ListBucketResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "DeleteObjects": "DeleteResult",
}
#: operations whose single member is the root element's text (botocore parses them specially)
_TEXT_ROOTS = {"GetBucketLocation": "LocationConstraint"}


class RestXmlCodec:
    def find_operation(self, model: ServiceModel, req: WireRequest) -> OperationModel | None:
        found = match_operation(model, req)
        if found is None:
            return None
        req.route_labels = found[1]
        return found[0]

    def parse(self, op: OperationModel, req: WireRequest) -> dict[str, Any]:
        shape = op.input_shape
        if shape is None:
            return {}
        out = parse_bindings(op, req, req.route_labels)
        payload = shape.serialization.get("payload")
        if payload:
            member = shape.members[payload]
            if member.type_name == "structure":
                if req.body.strip():
                    out[payload] = parse_document(member, req.body)
            elif not member.serialization.get("streaming"):
                out[payload] = req.body
        elif req.body.strip():
            out.update(parse_document(shape, req.body))
        return out

    def serialize(self, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse:
        shape = op.output_shape
        status, headers = serialize_bindings(shape, output, int(op.http.get("responseCode", 200)))
        headers += [("x-amz-request-id", request_id), ("x-amz-id-2", request_id)]
        if shape is None:
            return WireResponse(status, headers)
        unknown = set(output) - set(shape.members)
        if unknown:
            raise TypeError(f"{op.name}: unknown output members {sorted(unknown)}")
        payload = shape.serialization.get("payload")
        body: Body = b""
        if payload:
            member = shape.members[payload]
            value = output.get(payload)
            if member.type_name == "structure":
                if value is not None:
                    root = ET.Element(member.serialization.get("name", payload), {"xmlns": S3_NS})
                    fill_structure(root, member, value)
                    body = ET.tostring(root, xml_declaration=True, encoding="utf-8")
                    headers.append(("Content-Type", "application/xml"))
            elif value is not None:
                body = value.encode() if isinstance(value, str) else value
            return WireResponse(status, headers, body)
        if op.name in _TEXT_ROOTS:
            member_name = _TEXT_ROOTS[op.name]
            root = ET.Element(member_name, {"xmlns": S3_NS})
            root.text = output.get(member_name)
            headers.append(("Content-Type", "application/xml"))
            return WireResponse(status, headers, ET.tostring(root, xml_declaration=True, encoding="utf-8"))
        members = {k: v for k, v in output.items() if k not in bound_members(shape) and v is not None}
        if members or op.name in _ROOTS:
            root = ET.Element(_ROOTS.get(op.name, f"{op.name}Result"), {"xmlns": S3_NS})
            fill_structure(root, shape, members)
            body = ET.tostring(root, xml_declaration=True, encoding="utf-8")
            headers.append(("Content-Type", "application/xml"))
        return WireResponse(status, headers, body)

    def serialize_error(
        self, model: ServiceModel, err: AwsError, request_id: str, req: WireRequest
    ) -> WireResponse:
        headers = [("x-amz-request-id", request_id), ("x-amz-id-2", request_id)]
        if req.method == "HEAD":  # no body: botocore then reports the bare status ('404'), as on AWS
            return WireResponse(err.status, headers)
        root = ET.Element("Error")
        ET.SubElement(root, "Code").text = err.code
        ET.SubElement(root, "Message").text = err.message
        ET.SubElement(root, "Resource").text = req.raw_path
        ET.SubElement(root, "RequestId").text = request_id
        ET.SubElement(root, "HostId").text = request_id
        headers.append(("Content-Type", "application/xml"))
        return WireResponse(err.status, headers, ET.tostring(root, xml_declaration=True, encoding="utf-8"))
