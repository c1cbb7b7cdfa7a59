"""botocore's own service models, loaded once per process, drive every AWS codec and validator."""

from __future__ import annotations

import functools

import botocore.loaders
from botocore.model import ServiceModel

#: every AWS service the facades speak; the names are botocore's client names
SERVICE_NAMES = (
    "rekognition",
    "s3",
    "sns",
    "kinesis",
    "kinesisvideo",
    "kinesis-video-media",
    "kinesis-video-archived-media",
)


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.Loader()


@functools.cache
def service_model(name: str) -> ServiceModel:
    """The `ServiceModel` of one botocore client name (cached: parsing a model takes ~50 ms)."""
    return ServiceModel(_loader().load_service_model(name, "service-2"), service_name=name)


def signing_name(model: ServiceModel) -> str:
    """The SigV4 credential-scope service of a model (all ours sign as their endpoint prefix)."""
    return str(model.signing_name or model.endpoint_prefix)


@functools.cache
def error_info(model: ServiceModel, name: str) -> tuple[str, int, bool]:
    """(wire code, HTTP status, sender fault) of an error named by its shape name or its wire code.

    SNS's shape `NotFoundException` travels as `NotFound` with status 404; KVS's
    `ResourceNotFoundException` has status 404 in the model; unmodelled codes default to 400
    (500 for the internal-failure family, like AWS).
    """
    for shape in model.error_shapes:
        meta = shape.metadata.get("error", {})
        code = meta.get("code", shape.name)
        if name in (shape.name, code):
            return (
                code,
                int(meta.get("httpStatusCode", _default_status(code))),
                not shape.metadata.get("fault", False),
            )
    status = _default_status(name)
    return name, status, status < 500


def _default_status(code: str) -> int:
    return (
        500
        if code in ("InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable")
        else 400
    )
