"""Protocol-neutral HTTP request/response records passed between the dispatcher and the codecs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.model import OperationModel, ServiceModel

from videolens.api.aws.errors import AwsError

Body = bytes | Iterator[bytes] | AsyncIterator[bytes]


@dataclass
class WireRequest:
    method: str
    #: the path exactly as received, still percent-encoded (SigV4 and S3 keys need the raw form)
    raw_path: str
    #: decoded query pairs, in order
    query: list[tuple[str, str]]
    #: the query string as received (SigV4 canonicalises it)
    raw_query: str
    #: lower-case header names; repeated headers joined with ","
    headers: dict[str, str]
    #: the whole body for operations without a streaming input payload, else b""
    body: bytes = b""
    #: bucket taken from a virtual-hosted Host header (S3 only), else None
    host_bucket: str | None = None
    #: URI labels of the matched rest operation (set by the codec while routing)
    route_labels: dict[str, str] = field(default_factory=dict)

    def query_dict(self) -> dict[str, str]:
        return dict(self.query)


@dataclass
class WireResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body = b""


class Codec(Protocol):
    """One AWS protocol: find the operation, parse its input, encode its output and errors."""

    def find_operation(self, model: ServiceModel, req: WireRequest) -> OperationModel | None: ...

    def parse(self, op: OperationModel, req: WireRequest) -> dict[str, Any]: ...

    def serialize(self, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse: ...

    def serialize_error(
        self, model: ServiceModel, err: AwsError, request_id: str, req: WireRequest
    ) -> WireResponse: ...
