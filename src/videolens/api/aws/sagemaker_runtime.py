"""SageMaker Runtime (rest-json): InvokeEndpoint runs a registered model; EndpointName is the model's name.

Errors follow SageMaker: an unknown endpoint or a bad parameter is ValidationError (400); a model
that fails or cannot read its input (a body that is no image) is ModelError (424), as a SageMaker
container's own 4xx/5xx answer would be; an open circuit breaker or every slot busy is
ServiceUnavailable (503).
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread

from videolens.api.aws.registry import AwsContext, AwsService
from videolens.services.errors import (
    ImageTooLargeError,
    InvalidImageError,
    InvalidParameterError,
    NotFoundError,
    PayloadTooLargeError,
)
from videolens.services.models.errors import ModelError, ModelNotFoundError, ModelUnavailableError
from videolens.services.models.models import ModelInput


async def invoke_endpoint(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    name = p["EndpointName"]
    settings = ctx.settings
    body = p.get("Body")
    if body is None and ctx.body is not None:  # sent with a payload-hash header: streamed to us
        body = await anyio.to_thread.run_sync(ctx.body.read)
    body = body or b""
    if len(body) > settings.max_image_bytes:
        raise PayloadTooLargeError(f"Body is over {settings.max_image_bytes} bytes")
    inp = ModelInput.from_bytes(body, p.get("ContentType"), settings.max_image_pixels)
    try:
        answer = await ctx.container.models_service.ainvoke(name, inp, p.get("Accept"))
    except ModelNotFoundError as exc:
        raise InvalidParameterError(f"Endpoint {name} of account {ctx.account_id} not found.") from exc
    return {"Body": answer.body, "ContentType": answer.content_type, "InvokedProductionVariant": "AllTraffic"}


SERVICE = AwsService(
    model_name="sagemaker-runtime",
    handlers={"InvokeEndpoint": invoke_endpoint},
    error_map={
        InvalidParameterError: "ValidationError",
        NotFoundError: "ValidationError",
        PayloadTooLargeError: "ValidationError",
        ImageTooLargeError: "ValidationError",
        InvalidImageError: "ModelError",
        ModelError: "ModelError",
        ModelUnavailableError: "ServiceUnavailable",
    },
    validation_error="ValidationError",
    internal_error="InternalFailure",
)
