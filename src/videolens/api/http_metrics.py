"""ASGI middleware counting every HTTP request of both front doors (runtime/metrics.py HTTP_*).

The route label is the matched route template (`/v1/models/{name}`), or `aws:<service>.<operation>`
which the AWS dispatcher records in the scope; anything else counts as "unmatched", so the label's
values stay bounded whatever paths clients send. Latency runs to the last byte sent (streams too).
"""

from __future__ import annotations

import time
from typing import Any

from videolens.runtime import metrics

#: scope key where a door that routes by itself (the AWS dispatcher) names the operation it ran
ROUTE_KEY = "videolens.route"


class HttpMetrics:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts, the client saw the connection fail

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 500))
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, sending)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            route = scope.get(ROUTE_KEY) or _template(scope)
            method = str(scope.get("method", "GET"))
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def _template(scope: dict[str, Any]) -> str:
    path = getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    # plain ASGI routes (POST /putMedia) leave only their endpoint in our scope: find its route
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return "unmatched"
    for route in _routes(scope.get("app")):
        if getattr(route, "endpoint", None) is endpoint and getattr(route, "path", None):
            return str(route.path)
    return "unmatched"


def _routes(app: Any) -> list[Any]:
    found: list[Any] = []
    for route in getattr(app, "routes", ()):
        found.append(route)
        # FastAPI wraps the routes of an included router; the originals carry endpoint and path
        found.extend(getattr(getattr(route, "original_router", None), "routes", ()))
    return found
