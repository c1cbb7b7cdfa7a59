"""Data streams benchmark: videolens vs kinesalite (npm) vs moto server (pip), side by side in one run,
all on loopback through boto3 — PutRecords throughput (100 B and 10 KiB records), put → GetRecords
latency for a polling consumer, and put → SubscribeToShard event latency where a server has it.

Run from the repository root: `.venv/bin/python bench/datastreams.py [--seconds 5] [--clients 3]`.
On first use it installs kinesalite under bench/node_modules (`npm ci --prefix bench`) and moto[server]
in its own venv bench/.venv-moto (both gitignored). Each server gets the same load from the same
boto3 client processes, one server after the other; the order is repeated `--rounds` times and the
median per server is reported, so a noisy machine moves all of them alike. Server CPU seconds per
record are printed too: that figure does not depend on how fast the clients are.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
MOTO_VENV = BENCH / ".venv-moto"
KINESALITE = BENCH / "node_modules" / ".bin" / "kinesalite"
CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "AKIDBENCH", "aws_secret_access_key": "bench"}
#: same client for every server: no retries (failures are counted), no client-side validation cost
CLIENT_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=False)
SHARDS = 4
KEYS = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def client(url: str) -> Any:
    return boto3.client("kinesis", endpoint_url=url, config=CLIENT_CONFIG, **CREDENTIALS)


# -- the servers ------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    cleanup: list[Any] = field(default_factory=list)
    #: the Redis a videolens-redis server writes to (its CPU is counted apart)
    redis_url: str | None = None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        for step in self.cleanup:
            step()


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}")
        try:
            client(url).list_streams(Limit=1)
            return
        except Exception:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{url}: server did not start")


def pinned(cmd: list[str], cores: str) -> list[str]:
    return ["taskset", "-c", cores, *cmd] if cores and shutil.which("taskset") else cmd


def start_videolens(data_dir: Path, cores: str, redis_url: str | None) -> Server:
    port = free_port()
    env = dict(
        os.environ,
        VIDEOLENS_DATA_DIR=str(data_dir),
        VIDEOLENS_LOG_LEVEL="WARNING",
        VIDEOLENS_LOG_JSON="false",
        VIDEOLENS_JOB_WORKERS="0",
        # AWS' per-shard limits (1000 records/s in) would cap the run at 4000 records/s
        VIDEOLENS_DATASTREAMS_ENFORCE_LIMITS="false",
    )
    cleanup = []
    if redis_url:
        prefix = f"vlbench:{uuid.uuid4().hex[:8]}:"
        env["VIDEOLENS_DATASTREAMS_URL"] = f"{redis_url}?prefix={prefix}"
        cleanup.append(lambda: drop_redis_keys(redis_url, prefix))
    binary = str(Path(sys.executable).parent / "videolens")
    process = subprocess.Popen(pinned([binary, "serve", "--port", str(port)], cores), env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    wait_ready(url, process)
    return Server("videolens-redis" if redis_url else "videolens", url, process, cleanup, redis_url)


def redis_cpu(server: Server) -> float:
    """CPU seconds the Redis server has used (shared with anything else using that Redis)."""
    if not server.redis_url:
        return 0.0
    import redis

    with redis.Redis.from_url(server.redis_url) as r:
        info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def drop_redis_keys(redis_url: str, prefix: str) -> None:
    import redis

    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter(match=prefix + "*", count=1000))
    for i in range(0, len(keys), 500):
        r.delete(*keys[i : i + 500])
    r.close()


def ensure_kinesalite() -> Path:
    if not KINESALITE.exists():
        print("installing kinesalite under bench/node_modules (npm ci) ...", flush=True)
        subprocess.run(
            ["npm", "ci", "--prefix", str(BENCH), "--no-audit", "--no-fund", "--loglevel=error"], check=True
        )
    return KINESALITE


def start_kinesalite(cores: str) -> Server:
    port = free_port()
    # in-memory store (no --path), no artificial CREATING/UPDATING delays
    cmd = [str(ensure_kinesalite()), "--port", str(port), "--shardLimit", "1000"]
    cmd += ["--createStreamMs", "0", "--deleteStreamMs", "0", "--updateStreamMs", "0"]
    process = subprocess.Popen(pinned(cmd, cores), stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process)
    return Server("kinesalite", url, process)


def ensure_moto() -> Path:
    exe = MOTO_VENV / "bin" / "moto_server"
    if not exe.exists():
        print(f"creating {MOTO_VENV} and installing moto[server] from PyPI ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(MOTO_VENV)
        subprocess.run([str(MOTO_VENV / "bin" / "pip"), "install", "-q", "moto[server]"], check=True)
    return exe


def start_moto(cores: str) -> Server:
    port = free_port()
    cmd = [str(ensure_moto()), "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(pinned(cmd, cores), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process)
    return Server("moto", url, process)


def create_stream(kinesis: Any, name: str, shards: int) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        desc = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if desc["StreamStatus"] == "ACTIVE":
            return str(desc["StreamARN"])
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not become ACTIVE")


# -- PutRecords throughput ------------------------------------------------------------------------


def _producer(url: str, stream: str, size: int, batch: int, seconds: float, barrier: Any, out: Any) -> None:
    """One client process: PutRecords of `batch` records of `size` bytes in a loop for `seconds`."""
    kinesis = client(url)
    rng = random.Random(os.getpid())
    payload = os.urandom(size)
    records = [{"Data": payload, "PartitionKey": f"key-{rng.randrange(KEYS)}"} for _ in range(batch)]
    kinesis.put_records(StreamName=stream, Records=records[:10])  # connection up before the clock starts
    barrier.wait()
    stored = failed = errors = 0
    cpu0 = time.process_time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            answer = kinesis.put_records(StreamName=stream, Records=records)
        except Exception:
            errors += 1
            continue
        bad = answer.get("FailedRecordCount", 0)
        stored += batch - bad
        failed += bad
    out.put((stored, failed, errors, time.process_time() - cpu0))


def throughput(server: Server, size: int, clients: int, seconds: float, tag: str) -> tuple[float, float, str]:
    """(records/s, server CPU µs per record, notes)."""
    kinesis = client(server.url)
    stream = f"tp-{tag}"
    create_stream(kinesis, stream, SHARDS)
    batch = 500 if size <= 1024 else 400  # PutRecords caps a call at 500 records and 5 MiB
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_producer, args=(server.url, stream, size, batch, seconds, barrier, out))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    barrier.wait()
    cpu0, t0, redis0 = cpu_seconds(server.process.pid), time.monotonic(), redis_cpu(server)
    results = [out.get(timeout=seconds + 120) for _ in procs]
    wall, cpu = time.monotonic() - t0, cpu_seconds(server.process.pid) - cpu0
    redis_used = redis_cpu(server) - redis0
    for p in procs:
        p.join(30)
    stored = sum(r[0] for r in results)
    notes = ""
    if sum(r[1] for r in results) or sum(r[2] for r in results):
        notes = f"{sum(r[1] for r in results)} records failed, {sum(r[2] for r in results)} calls errored"
    kinesis.delete_stream(StreamName=stream)
    client_us = sum(r[3] for r in results) / max(stored, 1) * 1e6
    extra = f", Redis server {redis_used / max(stored, 1) * 1e6:.1f} µs/record" if server.redis_url else ""
    return stored / wall, cpu / max(stored, 1) * 1e6, f"(clients {client_us:.1f} µs/record{extra}) {notes}"


# -- latency --------------------------------------------------------------------------------------


def polling_latency(server: Server, count: int, gap: float, poll: float) -> list[float]:
    """Put one record every `gap` s; a consumer polls GetRecords; seconds from put start to visible."""
    kinesis, reader = client(server.url), client(server.url)
    create_stream(kinesis, "lat-poll", 1)
    iterator = reader.get_shard_iterator(
        StreamName="lat-poll", ShardId="shardId-000000000000", ShardIteratorType="LATEST"
    )["ShardIterator"]
    sent: dict[bytes, float] = {}
    seen: list[float] = []
    done = threading.Event()

    def consume() -> None:
        nonlocal iterator
        while not done.is_set() or len(seen) < len(sent):
            page = reader.get_records(ShardIterator=iterator, Limit=1000)
            now = time.perf_counter()
            iterator = page["NextShardIterator"]
            seen.extend(now - sent[r["Data"]] for r in page["Records"] if r["Data"] in sent)
            if not page["Records"]:
                if done.is_set() and time.perf_counter() - last_put > 5:
                    return
                time.sleep(poll)

    last_put = time.perf_counter()
    thread = threading.Thread(target=consume)
    thread.start()
    for i in range(count):
        key = b"%08d" % i
        sent[key] = time.perf_counter()
        kinesis.put_record(StreamName="lat-poll", PartitionKey="k", Data=key)
        last_put = time.perf_counter()
        time.sleep(gap)
    done.set()
    thread.join(60)
    kinesis.delete_stream(StreamName="lat-poll")
    return seen


def subscribe_latency(server: Server, count: int, gap: float) -> list[float] | str:
    """Put one record every `gap` s while SubscribeToShard streams; or why the server cannot."""
    from botocore.exceptions import ClientError

    kinesis, reader = client(server.url), client(server.url)
    arn = create_stream(kinesis, "lat-sub", 1)
    try:
        consumer = reader.register_stream_consumer(StreamARN=arn, ConsumerName="bench")["Consumer"]
        while (
            reader.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"][
                "ConsumerStatus"
            ]
            != "ACTIVE"
        ):
            time.sleep(0.05)
        stream = reader.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"],
            ShardId="shardId-000000000000",
            StartingPosition={"Type": "LATEST"},
        )["EventStream"]
    except (ClientError, NotImplementedError, KeyError) as exc:
        kinesis.delete_stream(StreamName="lat-sub", EnforceConsumerDeletion=True)
        return f"not supported ({str(exc)[:80]})"
    sent: dict[bytes, float] = {}
    seen: list[float] = []

    def consume() -> None:
        for event in stream:
            now = time.perf_counter()
            records = event.get("SubscribeToShardEvent", {}).get("Records", [])
            seen.extend(now - sent[r["Data"]] for r in records if r["Data"] in sent)
            if len(seen) >= count:
                return

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    time.sleep(0.5)  # the subscription is open before the first put
    for i in range(count):
        key = b"%08d" % i
        sent[key] = time.perf_counter()
        kinesis.put_record(StreamName="lat-sub", PartitionKey="k", Data=key)
        time.sleep(gap)
    thread.join(30)
    stream.close()  # end the subscription before its stream goes away
    kinesis.delete_stream(StreamName="lat-sub", EnforceConsumerDeletion=True)
    return seen


# -- the run --------------------------------------------------------------------------------------


def start(name: str, work: Path, cores: str, redis_url: str) -> Server:
    if name == "videolens":
        return start_videolens(work / f"vl-{uuid.uuid4().hex[:6]}", cores, None)
    if name == "videolens-redis":
        return start_videolens(work / f"vlr-{uuid.uuid4().hex[:6]}", cores, redis_url)
    if name == "kinesalite":
        return start_kinesalite(cores)
    return start_moto(cores)


def ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:6.1f} ms, p99 {percentile(values, 0.99) * 1000:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput run")
    parser.add_argument("--clients", type=int, default=2, help="boto3 client processes putting at once")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole comparison, report medians")
    parser.add_argument("--latency-records", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=10.0, help="between puts in the latency runs")
    parser.add_argument(
        "--poll-ms", type=float, default=0.0, help="polling consumer's sleep after an empty page"
    )
    parser.add_argument("--servers", default="videolens,videolens-redis,kinesalite,moto")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--cores", default="", help="CPU list for the servers (taskset), '' for all")
    args = parser.parse_args()
    names = args.servers.split(",")
    print(
        f"cpu cores: {os.cpu_count()}; servers pinned to: {args.cores or 'all'}; {args.clients} boto3 "
        f"client processes x {args.seconds:g} s per run; {SHARDS}-shard stream, {KEYS} partition keys; "
        f"{args.rounds} round(s)"
    )
    rates: dict[tuple[str, int], list[float]] = {}
    cpu_per_record: dict[tuple[str, int], list[float]] = {}
    polls: dict[str, list[float]] = {}
    subs: dict[str, list[float] | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            for name in names:
                server = start(name, Path(tmp), args.cores, args.redis_url)
                try:
                    for size in (100, 10240):
                        rate, cpu_us, notes = throughput(
                            server, size, args.clients, args.seconds, f"{rnd}-{size}"
                        )
                        rates.setdefault((name, size), []).append(rate)
                        cpu_per_record.setdefault((name, size), []).append(cpu_us)
                        print(
                            f"  round {rnd + 1} {name:16s} {size:6d} B: {rate:9.0f} records/s, "
                            f"server CPU {cpu_us:7.1f} µs/record {notes}",
                            flush=True,
                        )
                    if rnd == 0:
                        polls[name] = polling_latency(
                            server, args.latency_records, args.gap_ms / 1000, args.poll_ms / 1000
                        )
                        subs[name] = subscribe_latency(server, args.latency_records, args.gap_ms / 1000)
                finally:
                    server.stop()
    report(names, rates, cpu_per_record, polls, subs)


def report(
    names: list[str],
    rates: dict[tuple[str, int], list[float]],
    cpu: dict[tuple[str, int], list[float]],
    polls: dict[str, list[float]],
    subs: dict[str, list[float] | str],
) -> None:
    print("\nPutRecords throughput (median over rounds), server CPU per record")
    for name in names:
        cells = []
        for s in (100, 10240):
            rate, cpu_us = statistics.median(rates[(name, s)]), statistics.median(cpu[(name, s)])
            cells.append(f"{rate:9.0f} rec/s ({cpu_us:6.1f} µs CPU)")
        print(f"  {name:16s} 100 B: {cells[0]}   10 KiB: {cells[1]}")
    ours = [n for n in names if n.startswith("videolens")]
    peers = [n for n in names if not n.startswith("videolens")]
    for mine in ours:
        for peer in peers:
            parts = []
            for s in (100, 10240):
                r = statistics.median(rates[(mine, s)]) / statistics.median(rates[(peer, s)])
                c = statistics.median(cpu[(peer, s)]) / statistics.median(cpu[(mine, s)])
                parts.append(f"{'100 B' if s == 100 else '10 KiB'} x{r:.2f} (CPU/record x{c:.2f})")
            print(f"  {mine} / {peer}: " + ", ".join(parts))
    print("\nput -> visible latency (1 shard, one record per put)")
    for name in names:
        sub = subs[name]
        sub_text = ms(sub) if isinstance(sub, list) and sub else str(sub or "no events")
        print(f"  {name:16s} GetRecords polling: {ms(polls[name])}   SubscribeToShard: {sub_text}")
    for mine in ours:
        for peer in peers:
            ratio = statistics.median(polls[peer]) / statistics.median(polls[mine])
            print(f"  polling p50 {peer} / {mine}: x{ratio:.2f}")


if __name__ == "__main__":
    main()
