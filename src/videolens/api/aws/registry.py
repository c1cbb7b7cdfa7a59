"""What a service module declares (`AwsService`) and what each handler receives (`AwsContext`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.model import ServiceModel
from starlette.types import Receive, Scope, Send

from videolens.api.aws.codec_json import JsonCodec, RestJsonCodec
from videolens.api.aws.codec_query import QueryCodec
from videolens.api.aws.codec_rest_xml import RestXmlCodec
from videolens.api.aws.payload import RequestBody
from videolens.api.aws.service_models import service_model
from videolens.api.aws.wire import Codec
from videolens.runtime.settings import Settings

if TYPE_CHECKING:
    from videolens.container import Container


@dataclass
class AwsContext:
    """Per-request facts a handler may need besides its parsed parameters."""

    container: Container
    settings: Settings
    request_id: str
    service: str  # botocore client name, e.g. "rekognition"
    operation: str  # e.g. "CreateCollection"
    access_key: str
    region: str
    headers: dict[str, str]
    #: scheme://host[:port] the client used (for Location headers and returned URLs)
    base_url: str
    #: decoded streaming input payload (S3 PutObject/UploadPart...), else None; iterate it once
    body: RequestBody | None = None
    #: the raw ASGI scope/receive/send, for raw routes only
    asgi: tuple[Scope, Receive, Send] | None = None
    #: a handler may override the model's success status (S3 ranged GET → 206)
    status: int | None = None

    @property
    def account_id(self) -> str:
        return str(self.settings.account_id)


Handler = Callable[[AwsContext, dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]
#: raw routes speak ASGI themselves after SigV4 passed (KVS PutMedia's two-way stream)
RawHandler = Callable[[AwsContext, Scope, Receive, Send], Awaitable[None]]


@dataclass
class AwsService:
    """One AWS facade: a botocore model, handlers by operation name and an error mapping.

    `error_map` maps service exception classes (from `services/errors.py`) to the AWS code to
    send (or `(code, status)`); the closest class in the exception's MRO wins. Without an explicit
    status it comes from the model (KVS ResourceNotFoundException → 404, SNS NotFound → 404) or 400.
    `validation_error` is the code for inputs that break the model's constraints.
    """

    model_name: str
    handlers: Mapping[str, Handler]
    error_map: Mapping[type[Exception], str | tuple[str, int]] = field(default_factory=dict)
    validation_error: str = "ValidationException"
    internal_error: str = "InternalFailure"
    #: run on (operation, params) before the generic model validation, for checks whose AWS
    #: error differs from the validation code (Rekognition: Bytes over 5 MB → ImageTooLargeException)
    prevalidate: Callable[[str, dict[str, Any]], None] | None = None
    #: path → raw handler, matched before the model (e.g. {"/putMedia": put_media})
    raw_routes: Mapping[str, RawHandler] = field(default_factory=dict)

    @property
    def model(self) -> ServiceModel:
        return service_model(self.model_name)

    @property
    def protocol(self) -> str:
        return str(self.model.protocol)

    @property
    def codec(self) -> Codec:
        return _CODECS[self.protocol]

    def error_code(self, exc: Exception) -> tuple[str, int | None] | None:
        for cls in type(exc).__mro__:
            entry = self.error_map.get(cls)
            if isinstance(entry, tuple):
                return entry
            if entry is not None:
                return entry, None
        return None


_CODECS: dict[str, Codec] = {
    "json": JsonCodec(),
    "rest-json": RestJsonCodec(),
    "query": QueryCodec(),
    "rest-xml": RestXmlCodec(),
}
