"""Fixtures of the cluster tests: one local cluster (2 api + 2 worker nodes over SeaweedFS, a private
PostgreSQL and a private Redis) for the module, boto3 clients per node, direct reads of the job rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from botocore.config import Config

from tests.streams.conftest import mkv_from
from videolens.cli.local_cluster import LocalCluster

#: short leases so take-overs happen within seconds; every 3rd frame detected (as the jobs tests)
NODE_ENV = {
    "VIDEOLENS_JOB_LEASE_SECONDS": "3",
    "VIDEOLENS_JOB_DETECT_EVERY": "3",
    "VIDEOLENS_EVENT_RETRY_BASE_SECONDS": "0.2",
    "VIDEOLENS_LOG_LEVEL": "INFO",
    # a stopped object store fails a fragment within seconds (error ack) rather than after 40 s
    "VIDEOLENS_S3_MAX_ATTEMPTS": "3",
    "VIDEOLENS_S3_TIMEOUT_SECONDS": "2",
    # each api node's push doors on ports of their own; a channel whose node died moves within seconds
    "VIDEOLENS_CHANNELS_RTMP_PORT": "0",
    "VIDEOLENS_CHANNELS_RTSP_PORT": "0",
    "VIDEOLENS_CHANNELS_LEASE_SECONDS": "3",
}


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    c = LocalCluster(
        tmp_path_factory.mktemp("cluster"),
        api_nodes=2,
        worker_nodes=2,
        postgres_admin_url=None,
        node_env=NODE_ENV,
    ).start()
    yield c
    c.stop()


def client(service: str, url: str, **config: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, read_timeout=60, **config),
    )


@pytest.fixture(scope="package")
def db(cluster: LocalCluster) -> Iterator[sa.Engine]:
    engine = sa.create_engine(cluster.database_url, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="package")
def hamilton_mkv_30s(hamilton_clip: Path) -> bytes:
    """30 s of live Matroska (the clip three times, a key frame every 2 s so every cluster is a GOP a
    reconnecting producer can resume at), for ingest that outlives a fault."""
    video = ("-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0")
    return mkv_from(hamilton_clip, *video, "-c:a", "copy", pre=("-stream_loop", "2"))
