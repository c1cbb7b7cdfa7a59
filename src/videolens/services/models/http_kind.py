"""`http` kind: an external endpoint with the SageMaker invocation contract (image POSTed, JSON back).

The request body is the caller's image bytes, untouched, with their content type (a decoded frame is
encoded as the configured `content_type`); the answer's bytes and content type come back as they are.
Timeouts, retries, the breaker and the connection pool are those of services/models/resilience.py.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, HttpUrl

from videolens.services.models.kinds import KindConfig, KindContext, register_kind
from videolens.services.models.models import ModelAnswer, ModelInput
from videolens.services.models.resilience import RemoteSettings, ResilientClient


class HttpConfig(KindConfig, RemoteSettings):
    url: HttpUrl
    #: how a decoded frame is encoded for this endpoint (bytes from a caller keep their own type)
    content_type: Literal["image/jpeg", "image/png", "application/x-image"] = "image/jpeg"
    accept: str = Field(default="application/json", max_length=256)
    #: extra request headers (e.g. an API key); their values are never shown back or logged
    headers: dict[str, str] = Field(default_factory=dict)


class HttpInvoker:
    def __init__(self, config: HttpConfig, label: str) -> None:
        self.config = config
        self.url = str(config.url)
        self.client = ResilientClient(config, config.max_concurrency, label)

    def invoke(self, inp: ModelInput, accept: str | None) -> ModelAnswer:
        if inp.data is not None:
            body, content_type = inp.data, inp.content_type or self.config.content_type
        else:
            body, content_type = inp.encoded(self.config.content_type), self.config.content_type
        wanted = accept if accept and accept != "*/*" else self.config.accept
        headers = {**self.config.headers, "Content-Type": content_type, "Accept": wanted}
        answer = self.client.request("POST", self.url, content=body, headers=headers)
        return ModelAnswer.from_remote(answer.body, answer.content_type)

    def close(self) -> None:
        self.client.close()


@register_kind
class HttpKind:
    key: ClassVar[str] = "http"
    config_type: ClassVar[type[KindConfig]] = HttpConfig
    takes_file: ClassVar[bool] = False

    def prepare(self, name: str, config: KindConfig, file: bytes | None, ctx: KindContext) -> dict[str, Any]:
        # a SageMaker-contract endpoint has no standard health route: it is checked on first use
        return {}

    def load(
        self, name: str, config: KindConfig, stored: dict[str, Any], file: bytes | None, ctx: KindContext
    ) -> HttpInvoker:
        assert isinstance(config, HttpConfig)
        return HttpInvoker(config, f"http model at {config.url}")
