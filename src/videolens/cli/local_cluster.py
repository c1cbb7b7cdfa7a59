"""A local videolens cluster on loopback: SeaweedFS + PostgreSQL + Redis + N api and M worker nodes.

`scripts/cluster up --api 2 --workers 2` (or `python -m videolens.cli.local_cluster up`) starts it in the
foreground until Ctrl-C; the tests and bench/cluster.py drive the same `LocalCluster` object. Every node
is a real `videolens serve --no-worker` or `videolens worker` process with its own data directory; the
only state they share is in the engines (and the two keys every node of a deployment must share).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import typer

from videolens.cli.engines import (
    PrivatePostgres,
    RedisServer,
    SeaweedFS,
    create_database,
    drop_database,
    engine_env,
    free_port,
)

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Node:
    """One videolens process of the cluster."""

    role: str  # "api" | "worker"
    index: int
    data_dir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)


@dataclass
class LocalCluster:
    root: Path
    api_nodes: int = 2
    worker_nodes: int = 2
    #: admin URL of the PostgreSQL server a fresh database is created on; None: a private cluster
    postgres_admin_url: str | None = LOCAL_POSTGRES
    #: settings every node gets (VIDEOLENS_JOB_LEASE_SECONDS=3 ...)
    node_env: dict[str, str] = field(default_factory=dict)
    seaweed: SeaweedFS | None = None
    redis: RedisServer | None = None
    postgres: PrivatePostgres | None = None
    database_url: str = ""
    nodes: list[Node] = field(default_factory=list)
    bucket: str = ""
    _db_name: str = ""

    # ------------------------------------------------------------------ engines
    def start(self) -> LocalCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.seaweed = SeaweedFS(self.root / "seaweedfs").start()
            self.redis = RedisServer(self.root / "redis").start()
            if self.postgres_admin_url is None:
                self.postgres = PrivatePostgres(self.root / "postgres").start()
                admin = self.postgres.url
            else:
                admin = self.postgres_admin_url
            self._db_name = f"videolens_cluster_{uuid.uuid4().hex[:10]}"
            self.database_url = create_database(admin, self._db_name)
            self._admin_url = admin
            self.bucket = f"videolens-{uuid.uuid4().hex[:8]}"
            self._write_shared_keys()
            for i in range(self.api_nodes):
                self.start_node("api", i)
                if i == 0:  # the first node migrates the schema alone
                    self.wait_healthy(self.nodes[0])
            for i in range(self.worker_nodes):
                self.start_node("worker", i)
            for node in self.api:
                self.wait_healthy(node)
        except BaseException:
            self.stop()
            raise
        self._write_state()
        return self

    def _write_shared_keys(self) -> None:
        # every node must sign and read the same credentials, signed URLs and HLS session tokens
        keys = self.root / "shared-keys"
        (keys / "keys").mkdir(parents=True, exist_ok=True)
        (keys / "master.key").write_bytes(secrets.token_bytes(32))
        (keys / "keys" / "hls-session.key").write_bytes(secrets.token_bytes(32))

    def env(self, node: Node) -> dict[str, str]:
        assert self.seaweed is not None and self.redis is not None
        env = engine_env()
        env.update(self.seaweed.env(self.bucket))
        env.update(
            {
                "VIDEOLENS_DATA_DIR": str(node.data_dir),
                "VIDEOLENS_DATABASE_URL": self.database_url,
                "VIDEOLENS_REDIS_URL": self.redis.url,
                "VIDEOLENS_DATASTREAMS_URL": self.redis.url,
                "VIDEOLENS_HOST": "127.0.0.1",
                "VIDEOLENS_PORT": str(node.port),
                "VIDEOLENS_LOG_JSON": "true",
            }
        )
        env.update(self.node_env)
        return env

    # ------------------------------------------------------------------ nodes
    def start_node(self, role: str, index: int) -> Node:
        data_dir = self.root / f"{role}-{index}"
        if not data_dir.exists():
            shutil.copytree(self.root / "shared-keys", data_dir)
        node = Node(role, index, data_dir, port=free_port() if role == "api" else 0)
        args = [sys.executable, "-m", "videolens.cli"]
        args += ["serve", "--no-worker"] if role == "api" else ["worker"]
        log = open(data_dir / "node.log", "ab")  # noqa: SIM115 - the child keeps it
        node.proc = subprocess.Popen(
            args, env=self.env(node), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.nodes = [n for n in self.nodes if n.name != node.name] + [node]
        return node

    def wait_healthy(self, node: Node, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert node.proc is not None
            if node.proc.poll() is not None:
                raise RuntimeError(
                    f"{node.name} exited ({node.proc.returncode}); see {node.data_dir}/node.log"
                )
            try:
                if httpx.get(node.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{node.name} not healthy after {timeout_s} s")

    @property
    def api(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "api"]

    @property
    def workers(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "worker"]

    def node_by_pid(self, pid: int) -> Node | None:
        return next((n for n in self.nodes if n.proc is not None and n.proc.pid == pid), None)

    def stop_node(self, node: Node) -> None:
        if node.proc is None or node.proc.poll() is not None:
            return
        os.kill(node.proc.pid, signal.SIGCONT)  # a paused node must be able to act on SIGTERM
        node.proc.terminate()
        try:
            node.proc.wait(15)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait(5)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            self.stop_node(node)
        if self._db_name:
            # the server may be the one a fault test stopped
            with contextlib.suppress(Exception):
                drop_database(self._admin_url, self._db_name)
        for engine in (self.redis, self.seaweed):
            if engine is not None:
                engine.stop()
        if self.postgres is not None:
            self.postgres.remove()

    def _write_state(self) -> None:
        assert self.seaweed is not None and self.redis is not None
        state = {
            "api": [n.url for n in self.api],
            "supervisor_pid": os.getpid(),
            "pids": {n.name: n.pid for n in self.nodes},
            "database_url": self.database_url,
            "redis_url": self.redis.url,
            "s3_endpoint_url": self.seaweed.endpoint_url,
            "blob_url": f"s3://{self.bucket}/blobs",
        }
        (self.root / "cluster.json").write_text(json.dumps(state, indent=2))


app = typer.Typer(help="A local videolens cluster on loopback (SeaweedFS, PostgreSQL, Redis, nodes).")


@app.command("up")
def up(
    api: Annotated[int, typer.Option(help="api + ingest nodes (serve --no-worker)")] = 2,
    workers: Annotated[int, typer.Option(help="worker nodes (jobs, processors, delivery)")] = 2,
    root: Annotated[Path, typer.Option("--dir", help="where engines and nodes keep their data")] = Path(
        "./videolens-cluster"
    ),
    postgres: Annotated[
        str, typer.Option(help="admin URL of the PostgreSQL server; 'private' starts an own one")
    ] = LOCAL_POSTGRES,
) -> None:
    """Start the cluster and keep it running until Ctrl-C / SIGTERM; then stop everything."""
    cluster = LocalCluster(
        root.resolve(), api, workers, postgres_admin_url=None if postgres == "private" else postgres
    )
    signal.signal(signal.SIGTERM, _interrupt)
    cluster.start()
    try:
        typer.echo(json.dumps(json.loads((cluster.root / "cluster.json").read_text()), indent=2))
        typer.echo("cluster up; Ctrl-C to stop it")
        while True:
            time.sleep(1)
            for node in cluster.nodes:
                if node.proc is not None and node.proc.poll() is not None:
                    typer.echo(f"{node.name} exited with {node.proc.returncode}", err=True)
                    node.proc = None
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        typer.echo("cluster stopped")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@app.command("down")
def down(
    root: Annotated[Path, typer.Option("--dir", help="the directory given to `up`")] = Path(
        "./videolens-cluster"
    ),
) -> None:
    """Stop a cluster started by `up` in another terminal: its supervisor stops nodes and engines."""
    state = json.loads((root / "cluster.json").read_text())
    pid = int(state["supervisor_pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        typer.echo("the cluster was not running")
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            typer.echo("cluster stopped")
            return
        time.sleep(0.2)
    typer.echo("the cluster is still stopping", err=True)


if __name__ == "__main__":
    app()
