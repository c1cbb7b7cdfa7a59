"""Every Prometheus metric of a videolens process, defined once here so other layers only increment them.

The objects live on prometheus-client's default registry (which also carries the process_* and
python_* collectors: memory, CPU, open files), so `GET /metrics` is one `generate_latest()`.
Counts are per process: a `videolens worker` process keeps its own; state that must be global (jobs
by status) is read from the metadata store at scrape time instead (services/telemetry.py).

Label values are bounded by what users create (route templates, model names, stream names, analyzer
names), never by request data: unmatched paths count as route "unmatched".
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

#: seconds; spans a cached face search (~ms) to a slow remote model or a long upload
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: seconds; stored-video jobs run from a second to hours
JOB_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)

# -- HTTP (both front doors) -------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "videolens_http_requests",
    "HTTP requests answered, by method, route template (AWS: aws:<service>.<operation>) and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "videolens_http_request_duration_seconds",
    "Time from request start to the last response byte, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge("videolens_http_requests_in_flight", "HTTP requests being answered now.")

# -- jobs (stored video) -----------------------------------------------------------------------------
JOB_DURATION = Histogram(
    "videolens_job_duration_seconds",
    "Run time of the jobs this process finished (claim to result), by job type and final status.",
    ["type", "status"],
    buckets=JOB_BUCKETS,
)

# -- ingest (PutMedia, pulls) ------------------------------------------------------------------------
INGEST_SESSIONS = Counter(
    "videolens_ingest_sessions", "Ingest sessions opened (PutMedia connections, pull sessions).", ["stream"]
)
INGEST_FRAGMENTS = Counter(
    "videolens_ingest_fragments", "Fragments persisted by ingest, by stream.", ["stream"]
)
INGEST_BYTES = Counter(
    "videolens_ingest_fragment_bytes", "Bytes of the fragments persisted by ingest, by stream.", ["stream"]
)

# -- models (services/models) ------------------------------------------------------------------------
MODEL_INVOCATIONS = Counter(
    "videolens_model_invocations", "Model invocations started, by model name and kind.", ["model", "kind"]
)
MODEL_ERRORS = Counter(
    "videolens_model_errors",
    "Model invocations that failed, by model, kind and error code (model-error, model-timeout, ...).",
    ["model", "kind", "code"],
)
MODEL_LATENCY = Histogram(
    "videolens_model_latency_seconds",
    "Duration of successful model invocations (queueing for a concurrency slot included), by model.",
    ["model", "kind"],
    buckets=LATENCY_BUCKETS,
)
MODEL_IN_FLIGHT = Gauge("videolens_model_in_flight", "Model invocations running now, by model.", ["model"])

# -- live analysis: analyzers and stream processors (the live engine increments these) ---------------
LIVE_FRAMES = Counter(
    "videolens_live_frames_analysed",
    "Frames a processor or analyzer ran its model on, by processor name and stream.",
    ["processor", "stream"],
)
LIVE_FRAMES_SKIPPED = Counter(
    "videolens_live_frames_skipped",
    "Sampled frames dropped because the model fell behind (bounded queue), by processor and stream.",
    ["processor", "stream"],
)
LIVE_MODEL_LATENCY = Histogram(
    "videolens_live_model_latency_seconds",
    "Model time per analysed frame, by processor.",
    ["processor"],
    buckets=LATENCY_BUCKETS,
)
LIVE_PUBLISH_LATENCY = Histogram(
    "videolens_live_publish_latency_seconds",
    "Fragment persisted -> its records published to the output, by processor.",
    ["processor"],
    buckets=LATENCY_BUCKETS,
)
LIVE_LAG = Gauge(
    "videolens_live_lag_seconds",
    "How far behind live the processor is (newest fragment's server time - last one done).",
    ["processor", "stream"],
)
LIVE_ERRORS = Counter(
    "videolens_live_errors",
    "Errors while analysing, by processor, stream and reason.",
    ["processor", "stream", "reason"],
)
LIVE_LEASES_HELD = Gauge(
    "videolens_live_leases_held", "(processor, stream) leases this worker holds now.", ["worker"]
)

# -- stream processors (services/live engine and its kinds; issue 13) --------------------------------
# One series per processor name (bounded by what users create). Kept apart from the analyzer series
# above: the engine runs both, but a processor's fragments, lag and leases are its own.
PROCESSOR_FRAMES_ANALYSED = Counter(
    "videolens_processor_frames_analysed",
    "Frames a stream processor ran its detector on (face search: the sampled looks), by processor.",
    ["processor"],
)
PROCESSOR_FRAGMENTS_PROCESSED = Counter(
    "videolens_processor_fragments_processed",
    "Fragments a stream processor analysed, published and checkpointed, by processor.",
    ["processor"],
)
PROCESSOR_FRAGMENTS_SKIPPED = Counter(
    "videolens_processor_fragments_skipped",
    "Fragments a stream processor did not analyse (lag policy live, expired before read), by processor.",
    ["processor"],
)
PROCESSOR_LAG_MS = Gauge(
    "videolens_processor_lag_behind_live_ms",
    "Server time of the newest fragment of the input stream minus that of the last one the processor "
    "finished, in milliseconds (0: caught up), by processor.",
    ["processor"],
)
PROCESSOR_ERRORS = Counter(
    "videolens_processor_errors",
    "Stream processor errors by processor and reason (undecodable-fragment, input-unreadable, "
    "publish-throttled, failed).",
    ["processor", "reason"],
)
PROCESSOR_LEASES_HELD = Gauge(
    "videolens_processor_leases_held", "Stream processor leases this worker process holds now.", ["worker"]
)
PROCESSOR_PUBLISH_LATENCY = Histogram(
    "videolens_processor_publish_latency_seconds",
    "Fragment persisted (its ServerTimestamp) -> its results durable in the output, by processor.",
    ["processor"],
    buckets=LATENCY_BUCKETS,
)
# -- analyzers (services/analyzers: a model on live streams, KIT records to a data stream) -------------
ANALYZER_FRAGMENTS = Counter(
    "videolens_analyzer_fragments",
    "Fragments an analyzer finished (records published), by analyzer and stream.",
    ["analyzer", "stream"],
)
ANALYZER_FRAMES = Counter(
    "videolens_analyzer_frames_analysed",
    "Frames an analyzer's model answered for (one record each), by analyzer and stream.",
    ["analyzer", "stream"],
)
ANALYZER_FRAMES_SKIPPED = Counter(
    "videolens_analyzer_frames_skipped",
    "Sampled frames dropped because every model call in flight was busy (lag policy live).",
    ["analyzer", "stream"],
)
ANALYZER_RECORDS = Counter(
    "videolens_analyzer_records_published",
    "Records published to the output data stream.",
    ["analyzer", "stream"],
)
ANALYZER_MODEL_LATENCY = Histogram(
    "videolens_analyzer_model_latency_seconds",
    "Submit -> answer of one frame's model call (waiting for a pool thread and a model slot included).",
    ["analyzer"],
    buckets=LATENCY_BUCKETS,
)
ANALYZER_PUBLISH_LATENCY = Histogram(
    "videolens_analyzer_publish_latency_seconds",
    "Fragment persisted (server timestamp) -> its records durable in the data stream, by analyzer.",
    ["analyzer"],
    buckets=LATENCY_BUCKETS,
)
ANALYZER_LAG = Gauge(
    "videolens_analyzer_lag_seconds",
    "Lag behind live: now - server timestamp of the fragment whose records were published last.",
    ["analyzer", "stream"],
)
ANALYZER_ERRORS = Counter(
    "videolens_analyzer_errors",
    "Frames without a record (model error, timeout) and undecodable fragments, by reason.",
    ["analyzer", "stream", "reason"],
)
ANALYZER_LEASES_HELD = Gauge(
    "videolens_analyzer_leases_held", "(analyzer, stream) leases this worker process holds now.", ["worker"]
)
