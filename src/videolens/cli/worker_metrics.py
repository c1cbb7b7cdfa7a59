"""The metrics listener of a worker process: `/metrics` of what this process runs, when configured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import start_http_server

from videolens.container import Container

log = logging.getLogger(__name__)


@contextmanager
def worker_metrics(container: Container) -> Iterator[int | None]:
    """Serve this process's Prometheus metrics while the block runs; yields the bound port or None.

    A worker has no API, so its counters (analyzer and processor frames, leases held, job latencies)
    would be invisible without it. The listener has no authentication: it opens only when
    VIDEOLENS_WORKER_METRICS_PORT is set, and in secure mode only when metrics are declared public.
    """
    settings = container.settings
    if settings.worker_metrics_port is None:
        yield None
        return
    if settings.effective_auth_mode == "secure" and not settings.metrics_public:
        log.error(
            "worker metrics not served: VIDEOLENS_WORKER_METRICS_PORT needs VIDEOLENS_METRICS_PUBLIC=true "
            "in secure mode (the listener has no authentication)"
        )
        yield None
        return
    server, thread = start_http_server(settings.worker_metrics_port, addr=settings.host)
    port = int(server.server_address[1])
    log.info("worker metrics on http://%s:%d/metrics", settings.host, port)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
