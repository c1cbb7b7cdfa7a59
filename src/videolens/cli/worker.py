"""CLI command `worker`: a node without HTTP that runs the background work of a deployment.

Job workers, stream processors and analyzers (the live engine), stream pulls, event delivery (webhooks,
MQTT) and the retention sweepers. Every piece is spread by leases in the shared metadata store, so any
number of workers (and `serve` nodes that also work) can run side by side.
"""

from __future__ import annotations

import signal
import threading

from videolens.runtime.settings import Settings


def worker() -> None:
    """Run jobs, processors, analyzers, pulls and event delivery here (no HTTP); stop with SIGTERM/Ctrl-C."""
    from videolens.cli.common import err_console
    from videolens.cli.worker_metrics import worker_metrics
    from videolens.container import Container
    from videolens.runtime.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    container = Container(settings)
    try:
        container.start_background()
        with worker_metrics(container) as port:
            err_console.print(
                f"videolens worker: {settings.job_workers} job worker(s), {settings.processor_slots} "
                "processor slot(s), event delivery"
                + (f", metrics on port {port}" if port is not None else "")
                + "; SIGTERM or Ctrl-C to stop"
            )
            try:
                while not stop.wait(1.0):
                    pass
            except KeyboardInterrupt:
                pass
    finally:
        container.close()
