"""`onnx` kind: a user-uploaded ONNX file run in-process on onnxruntime, with its declared spec.

The execution providers come from the `model_onnx_providers` setting (e.g. TensorRT, CUDA, CPU);
those this onnxruntime build lacks are skipped, CPU is the fallback. Registration loads the model and
runs one blank frame through it and its decoder, so a broken file or a decoder that does not fit the
outputs is refused at upload, not at the first frame.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from videolens.services.errors import InvalidParameterError
from videolens.services.models.errors import ModelError
from videolens.services.models.kinds import KindConfig, KindContext, register_kind
from videolens.services.models.models import ModelAnswer, ModelInput
from videolens.services.models.tensor_spec import DecoderSpecModel, InputSpecModel, decode_outputs
from videolens.vision.onnx_runner import OnnxModelError, OnnxRunner


class OnnxConfig(KindConfig):
    input: InputSpecModel
    decoder: DecoderSpecModel = Field(default_factory=DecoderSpecModel)
    #: onnxruntime intra-op threads per session (0: up to 4, by the machine's cores)
    threads: int = Field(default=0, ge=0, le=64)
    max_concurrency: int = Field(default=2, ge=1, le=256)


class OnnxInvoker:
    def __init__(self, runner: OnnxRunner, config: OnnxConfig) -> None:
        self.runner = runner
        self.input = config.input.spec()
        self.decoder = config.decoder.spec()

    def invoke(self, inp: ModelInput, accept: str | None) -> ModelAnswer:
        outputs, transform = self.runner(inp.rgb())
        return decode_outputs(outputs, self.decoder, transform, self.input, checking=False)

    def close(self) -> None:
        return None


def _providers(ctx: KindContext) -> list[str] | None:
    raw = ctx.settings.model_onnx_providers
    return [p.strip() for p in raw.split(",") if p.strip()] or None


@register_kind
class OnnxKind:
    key: ClassVar[str] = "onnx"
    config_type: ClassVar[type[KindConfig]] = OnnxConfig
    takes_file: ClassVar[bool] = True

    def _runner(self, config: OnnxConfig, file: bytes | None, ctx: KindContext) -> OnnxRunner:
        if not file:
            raise InvalidParameterError("an onnx model needs its .onnx file (multipart field 'file')")
        return OnnxRunner(file, config.input.spec(), config.input.name, _providers(ctx), config.threads)

    def prepare(self, name: str, config: KindConfig, file: bytes | None, ctx: KindContext) -> dict[str, Any]:
        assert isinstance(config, OnnxConfig)
        try:
            runner = self._runner(config, file, ctx)
        except OnnxModelError as exc:
            raise InvalidParameterError(f"invalid ONNX model: {exc}") from exc
        blank = np.zeros((config.input.height, config.input.width, 3), dtype=np.uint8)
        try:
            outputs, transform = runner(blank)
        except Exception as exc:  # onnxruntime's own error types: the spec does not fit the graph
            raise InvalidParameterError(f"the model does not run on the declared input: {exc}") from exc
        decode_outputs(outputs, config.decoder.spec(), transform, config.input.spec(), checking=True)
        return {
            "providers": runner.active_providers,
            "outputs": {name: list(value.shape) for name, value in outputs.items()},
        }

    def load(
        self, name: str, config: KindConfig, stored: dict[str, Any], file: bytes | None, ctx: KindContext
    ) -> OnnxInvoker:
        assert isinstance(config, OnnxConfig)
        try:
            return OnnxInvoker(self._runner(config, file, ctx), config)
        except OnnxModelError as exc:
            raise ModelError(f"the stored ONNX model no longer loads: {exc}") from exc
