"""The one settings object of a videolens process (pydantic-settings, env prefix VIDEOLENS_)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every tunable of the server; built once per process and passed down explicitly."""

    model_config = SettingsConfigDict(env_prefix="VIDEOLENS_", env_file=None, extra="ignore")

    data_dir: Path = Path("./videolens-data")
    host: str = "127.0.0.1"
    port: int = 8080
    #: SQLAlchemy URL; default: SQLite file in data_dir. PostgreSQL: postgresql+psycopg://user@host/db
    database_url: str | None = None
    #: public base URL clients use to reach us (GetDataEndpoint, HLS URLs); default http://host:port
    public_base_url: str | None = None
    #: where blobs (fragments, uploads, job outputs, images) live: "embedded" (files under data_dir/blobs),
    #: "file:///abs/dir", or "s3://bucket/prefix" (S3-compatible store; credentials from the AWS_* variables)
    blob_url: str = "embedded"
    #: endpoint of the S3-compatible store (SeaweedFS, MinIO...); empty: AWS S3 of the configured region
    s3_endpoint_url: str | None = None
    #: region of the S3 store's client (AWS S3); default: `region`
    s3_region: str | None = None
    #: attempts per S3 request (botocore "standard" retries: exponential back-off with jitter)
    s3_max_attempts: int = Field(default=4, ge=1)
    #: connect and read timeout of one S3 attempt; a store that hangs fails the request after
    #: attempts × this, so PutMedia answers an error ack instead of stalling
    s3_timeout_seconds: float = Field(default=10.0, gt=0)
    #: "redis://host:port/db": notifications between nodes (new fragments, collection changes, job and
    #: processor state); empty: in-process only (one node)
    redis_url: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

    # AWS facade identity
    region: str = "us-east-1"
    account_id: str = "000000000000"
    #: "dev": any access key accepted (signature not checked); "secure": SigV4 verified against keys;
    #: "auto": dev on a loopback bind address, secure otherwise.
    auth_mode: Literal["auto", "dev", "secure"] = "auto"
    clock_skew_seconds: int = 900
    #: brute-force brake: this many failed authentications from one address within the window → 429
    auth_failure_limit: int = Field(default=10, ge=1)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0)
    #: longest lifetime of a signed (presigned) media URL handed to a browser or player
    signed_url_max_seconds: int = Field(default=43200, ge=1)
    #: routes declared "public when <setting>" answer without a credential when the setting is on
    metrics_public: bool = False
    docs_public: bool = False
    #: `videolens worker` / `jobs worker` serve their own Prometheus metrics (the analyzers, processors
    #: and jobs they run) on this port of `host` when set; unauthenticated, so in secure mode only
    #: together with VIDEOLENS_METRICS_PUBLIC=true
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535)

    # faces
    max_image_bytes: int = 15 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    face_match_threshold: float = 80.0
    detection_threshold: float = 0.5
    min_face_size: int = 12

    # uploads / jobs
    max_upload_bytes: int = 50 * 1024 * 1024 * 1024
    #: an anonymize upload (in the internal `videolens-uploads` bucket) and its results are deleted
    #: this long after its job ended (0: at the next sweep); an upload without a job, this long after it
    upload_grace_seconds: float = Field(default=24 * 3600.0, ge=0)
    #: how often the uploads bucket is swept
    upload_sweep_seconds: float = Field(default=60.0, gt=0)
    job_workers: int = Field(default=1, ge=0)
    #: a job whose worker stopped heartbeating for this long is claimed again by another worker
    job_lease_seconds: float = Field(default=30.0, gt=0)
    #: video jobs report results once per this many milliseconds of video (Rekognition: 500)
    job_sample_ms: int = Field(default=500, ge=1)
    #: which frames of a video job the face detector sees: 0 = adaptive (default: at most 0.4 s apart,
    #: sooner on motion and cuts; face-track recall >= 99 % of every frame), 1 = every frame, N = every Nth
    job_detect_every: int = Field(default=0, ge=0)
    #: video jobs detect faces at this longer side (640: Rekognition's smallest face, 40 px at 1080p,
    #: stays above CenterFace's 12-px floor); raise it for smaller faces, at a cost growing with the area
    job_detect_max_side: int = Field(default=640, ge=64)

    #: a stream pull whose process stopped renewing for this long is taken over by another process
    stream_pull_lease_seconds: float = Field(default=30.0, gt=0)

    # live channels (MediaLive compatible)
    #: the public RTMP port push inputs listen on (0: any free port, for tests)
    channels_rtmp_port: int = Field(default=1935, ge=0, le=65535)
    #: the public RTSP port RTSP_PUSH inputs listen on (0: any free port, for tests)
    channels_rtsp_port: int = Field(default=8554, ge=0, le=65535)
    #: anonymize every channel that does not say otherwise ("pixelate", "blur", "solid"; None: off)
    channels_anonymize_default: str | None = None
    #: a channel whose input reading falls further behind real time than this halves its frame rate
    #: (every frame still anonymized) until it catches up
    channels_latency_budget_s: float = Field(default=4.0, ge=0)
    #: retention of the video stream each channel's input is recorded into
    channels_recording_retention_hours: int = Field(default=24, ge=0)
    #: a channel whose node stopped renewing its runner lease for this long is run by another node
    channels_lease_seconds: float = Field(default=10.0, gt=0)

    # live analysis (stream processors)
    #: a processor whose worker stopped renewing its lease for this long is taken over by another
    #: worker (KCL's default failover time is 10 s); takeover happens within this + the poll interval
    processor_lease_seconds: float = Field(default=10.0, gt=0)
    #: how often a worker looks for processors to take and (other processes) for new fragments
    processor_poll_seconds: float = Field(default=0.25, gt=0)
    #: processors one worker process runs at most (0: this process runs none)
    processor_slots: int = Field(default=16, ge=0)
    #: frames per second of video a face-search processor analyses (tracking in between)
    processor_analysed_fps: float = Field(default=5.0, gt=0)
    #: the face detector's input side for live analysis (as job_detect_max_side); 480 keeps faces of
    #: ~24 px and up in a 720p frame and costs half of 640 (docs/live.md, Figures)
    processor_detect_max_side: int = Field(default=480, ge=64)
    #: a face track is embedded and searched in the collection again after this many seconds of video
    #: (between searches its looks reuse the track's last matches: embedding is the costly step)
    processor_search_interval_s: float = Field(default=1.0, ge=0)

    # analyzers (bring your own model on live streams); their leases and polling are the processors'
    #: (analyzer, stream) units one worker process runs at most (0: this process runs none)
    analyzer_slots: int = Field(default=16, ge=0)
    #: how often tag filters are re-evaluated: a matching stream joins within this + processor_poll_seconds
    analyzer_refresh_seconds: float = Field(default=5.0, gt=0)

    # sightings
    #: a stored video's face sightings are kept this long after its job (the object may outlive it)
    sightings_video_retention_days: float = Field(default=30.0, gt=0)
    #: how often the sweeper drops sightings whose video is gone (fragments expired, object deleted)
    sightings_sweep_seconds: float = Field(default=60.0, gt=0)

    # events (topics, subscriptions)
    #: first retry delay of a failed webhook / MQTT delivery; doubles per attempt
    event_retry_base_seconds: float = Field(default=1.0, gt=0)
    #: deliveries still failing after this many attempts go to the dead-letter list
    event_max_attempts: int = Field(default=6, ge=1)

    # data streams (Kinesis Data Streams compatible)
    #: "embedded" (segment files under data_dir/datastreams), "file:///abs/dir", or
    #: "redis://host:port/db" (Redis Streams; `?prefix=name` keeps several deployments apart)
    datastreams_url: str = "embedded"
    #: shard iterators expire this long after GetShardIterator/GetRecords issued them (AWS: 5 min)
    datastreams_iterator_ttl_s: float = Field(default=300.0, gt=0)
    #: per-shard limits like AWS (1 MiB/s or 1000 records/s in, 2 MiB/s and 5 GetRecords/s out)
    datastreams_enforce_limits: bool = True
    #: open shards allowed across all streams (LimitExceededException beyond)
    datastreams_shard_limit: int = Field(default=500, ge=1)
    #: a SubscribeToShard call streams for this long, then ends (AWS: 5 minutes)
    datastreams_subscription_s: float = Field(default=300.0, gt=0)
    #: embedded backend: a shard's segment file rolls over past this size
    datastreams_segment_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)
    # models (bring your own)
    #: onnxruntime execution providers for `onnx` models, in order of preference, comma-separated
    #: (e.g. "TensorrtExecutionProvider,CUDAExecutionProvider,CPUExecutionProvider"); empty: every
    #: provider this onnxruntime build has. Providers the build lacks are skipped; CPU is the fallback.
    model_onnx_providers: str = ""
    #: largest ONNX file accepted for upload
    model_max_file_bytes: int = Field(default=1024 * 1024 * 1024, ge=1)
    #: threads of the pool behind ModelsService.submit / ainvoke (many frames in flight)
    model_invoke_threads: int = Field(default=32, ge=1, le=1024)

    @property
    def database_url_resolved(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'videolens.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def base_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def effective_auth_mode(self) -> Literal["dev", "secure"]:
        if self.auth_mode != "auto":
            return self.auth_mode
        return "dev" if _is_loopback(self.host) else "secure"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
