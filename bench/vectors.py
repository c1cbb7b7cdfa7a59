"""Large-collection benchmark: a 1M-face collection in PostgreSQL, one node's in-memory index of it.

Reports the memory of the index per node (RSS delta, bytes per face), the full load time, the reload
after one face added (and one deleted) on another node — incremental, next to a full reload in the same
run — and the exact search latency over the whole collection next to the bare matrix product.

Run: .venv/bin/python bench/vectors.py [--faces 1000000] [--postgres URL] [--rebuild]
The collection is built once (COPY of random unit vectors) into the database `videolens_bench_vectors_<N>`
on the server and reused by later runs; `--rebuild` drops it first.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg
import sqlalchemy as sa

from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.faces import CollectionRow
from videolens.backends.vectors.numpy_index import NumpyVectorIndex
from videolens.runtime.settings import Settings
from videolens.services.faces.records import FACE_MODEL_VERSION
from videolens.services.faces.service import FacesService
from videolens.services.faces.vector_cache import VectorCache
from videolens.vision.models import ModelRegistry

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTION = "bench"
DIM = 128
COPY_COLUMNS = (
    "face_id, collection_id, seq, image_id, external_image_id, box_left, box_top, box_width, box_height,"
    " confidence, embedding, created_at, version"
)


def rss_bytes(field: str = "VmRSS") -> int:
    """This process's resident memory (`VmHWM`: its peak so far), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cpus"


def build(admin_url: str, name: str, faces: int, rebuild: bool) -> str:
    """The bench database's URL, with `faces` random faces in collection `bench` (built if missing)."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if rebuild:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    db.migrate()
    with db.engine.connect() as conn:
        have = conn.scalar(
            sa.text("SELECT count(*) FROM faces WHERE collection_id = :c AND version > 0"), {"c": COLLECTION}
        )
    if have == faces:
        print(f"collection: {faces:,} faces already in database {name} (reused)")
        db.dispose()
        return url
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM faces WHERE collection_id = :c"), {"c": COLLECTION})
        conn.execute(sa.text("DELETE FROM collections WHERE collection_id = :c"), {"c": COLLECTION})
        conn.execute(
            sa.text(
                "INSERT INTO collections (collection_id, created_at, face_model_version, tags, version)"
                " VALUES (:c, now(), :m, '{}', :v)"
            ),
            {"c": COLLECTION, "m": FACE_MODEL_VERSION, "v": faces},
        )
    start = time.perf_counter()
    rng = np.random.default_rng(16)
    image_id = str(uuid.uuid4())
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY faces ({COPY_COLUMNS}) FROM STDIN") as copy:
            for lo in range(0, faces, 100_000):
                hi = min(faces, lo + 100_000)
                vecs = rng.standard_normal((hi - lo, DIM), dtype=np.float32)
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                raw = vecs.astype("<f4").tobytes()
                for i in range(hi - lo):
                    n = lo + i + 1  # as if each face came from its own index call: version n
                    copy.write_row(
                        (
                            str(uuid.UUID(int=n, version=4)),
                            COLLECTION,
                            n,
                            image_id,
                            None,
                            0.25,
                            0.25,
                            0.5,
                            0.5,
                            99.9,
                            raw[i * DIM * 4 : (i + 1) * DIM * 4],
                            "2026-01-01T00:00:00+00:00",
                            n,
                        )
                    )
        conn.commit()
        cur.execute("ANALYZE faces")
        conn.commit()
    took = time.perf_counter() - start
    print(f"collection: {faces:,} faces written to database {name} by COPY in {took:.1f} s")
    db.dispose()
    return url


def collection_state(db: Database) -> tuple[str, int]:
    """(epoch, version) of the bench collection, read as the service reads them before a search."""
    with db.session() as s:
        row = s.get(CollectionRow, COLLECTION)
        assert row is not None
        return row.created_at.isoformat(), int(row.version)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "VIDEOLENS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL of the PostgreSQL server (the bench database is created next to it)",
    )
    parser.add_argument(
        "--media", default=os.environ.get("VIDEOLENS_TEST_MEDIA", str(REPO_ROOT.parent / "shared" / "media"))
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="incremental reloads measured (median)")
    args = parser.parse_args()
    print(load())

    url = build(args.postgres, f"videolens_bench_vectors_{args.faces}", args.faces, args.rebuild)
    db = Database(url)

    # node B: the node whose memory and reload we measure
    epoch, version = collection_state(db)
    VectorCache(db)._delta(COLLECTION, version - 1000, version, NumpyVectorIndex())  # warm the driver
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, so the peak below is the load's
    rss0 = rss_bytes()
    node_b = VectorCache(db)
    start = time.perf_counter()
    index = node_b.get(COLLECTION, epoch, version)
    full_s = time.perf_counter() - start
    gc.collect()
    rss1, peak = rss_bytes(), rss_bytes("VmHWM")
    n = len(index)
    arrays = index.nbytes  # type: ignore[attr-defined]
    mib = 2**20
    print(
        f"memory per node: RSS +{(rss1 - rss0) / mib:,.0f} MiB for {n:,} faces"
        f" = {(rss1 - rss0) / n:.0f} B/face"
        f" (index arrays {arrays / mib:,.0f} MiB incl. spare capacity; the vector alone is {DIM * 4} B);"
        f" peak during the load +{(peak - rss0) / mib:,.0f} MiB"
    )
    print(f"full load: {full_s:.2f} s ({n / full_s:,.0f} faces/s from PostgreSQL)")

    # node A: a real service indexes real photos; B's next search refreshes from PostgreSQL
    settings = Settings(data_dir=Path("/tmp/videolens-bench-vectors"), database_url=url, log_json=False)  # type: ignore[call-arg]
    node_a = FacesService(settings, db, ModelRegistry(settings))
    photo = (Path(args.media) / "faces" / "obama" / "obama.jpg").read_bytes()
    # the first call warms the models; B catches up below
    added = [r.face.face_id for r in node_a.index_faces(COLLECTION, photo, max_faces=1).records]
    node_b.get(COLLECTION, *collection_state(db))
    delta_s: list[float] = []
    for _ in range(args.repeat):
        added += [r.face.face_id for r in node_a.index_faces(COLLECTION, photo, max_faces=1).records]
        state = collection_state(db)
        start = time.perf_counter()
        node_b.get(COLLECTION, *state)
        delta_s.append(time.perf_counter() - start)
        reload = node_b.last_reload[COLLECTION]
        assert reload.kind == "delta" and reload.added == 1, reload
    start = time.perf_counter()
    fresh = VectorCache(db)
    fresh.get(COLLECTION, *collection_state(db))
    full_again_s = time.perf_counter() - start
    assert len(fresh.get(COLLECTION, *collection_state(db))) == len(
        node_b.get(COLLECTION, *collection_state(db))
    )
    del fresh
    gc.collect()
    delta_ms = statistics.median(delta_s) * 1000
    print(
        f"reload after one added face: incremental {delta_ms:.1f} ms (1 row read; median of {args.repeat})"
        f" | full reload {full_again_s:.2f} s | full/incremental x{full_again_s * 1000 / delta_ms:,.0f}"
    )

    node_a.delete_faces(COLLECTION, [added.pop()])
    start = time.perf_counter()
    node_b.get(COLLECTION, *collection_state(db))
    took = time.perf_counter() - start
    print(f"reload after one deleted face: incremental {took * 1000:.1f} ms (1 tombstone)")

    # exact search at 1M: the index's search vs the bare matrix-vector product (the ceiling), same run
    rng = np.random.default_rng(1)
    queries = rng.standard_normal((20, DIM), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    index = node_b.get(COLLECTION, *collection_state(db))
    matrix = index._matrix[: index._n]  # type: ignore[attr-defined]
    index.search(queries[0], 10)
    search_ms, product_ms = [], []
    for q in queries:
        start = time.perf_counter()
        index.search(q, 10)
        search_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        matrix @ q
        product_ms.append((time.perf_counter() - start) * 1000)
    s_ms, p_ms = statistics.median(search_ms), statistics.median(product_ms)
    print(
        f"exact search top-10 over {len(index):,} faces: {s_ms:.1f} ms median"
        f" (p90 {np.percentile(search_ms, 90):.1f})"
        f" | bare matrix product {p_ms:.1f} ms | search/product x{s_ms / p_ms:.2f}"
    )
    node_a.delete_faces(COLLECTION, added)  # the collection goes back to its built size for the next run
    print(load(), "at the end")
    db.dispose()


if __name__ == "__main__":
    main()
