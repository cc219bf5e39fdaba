"""Benchmark: applying 12,000 changes (10,000 updates, 1,000 inserts, 1,000 deletes) to a store's
1,000,000-row `produto`, per engine, by the sync's apply (``io/isolate.py`` → ``io/writer.py``,
one transaction, rolled back after each run):

- before: SQLAlchemy's executemany of dicts (``writer.plan`` returning None, the generic path);
- after: the engine's fast path (``writer.plan``: ``Prepared`` on SQLite; COPY into a temporary
  table + one set-based statement per batch on PostgreSQL, ``io/apply_pg.py``, also shown with
  its ``copy-rows`` variant forced; tuples + a joined temporary table on MariaDB,
  ``io/apply_mysql.py``);
- (c): the raw driver's executemany of the same rows as tuples in one transaction (the tuples
  built before the clock starts), as baseline (c) of ``sync_bench.py``.

Best of 3 each (the machine is shared: compare figures within one run).

    .venv/bin/python bench/apply_bench.py [--engine sqlite|postgresql|mariadb|all] [--rows 1000000]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import temp_mariadb_database, temp_pg_database  # noqa: E402
from sinc_pipeline.core.db import connect, get_engine  # noqa: E402
from sinc_pipeline.demo.generate import products_table  # noqa: E402
from sinc_pipeline.demo.schema import store_metadata  # noqa: E402
from sinc_pipeline.io import apply_pg, writer  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.io.isolate import apply_isolating  # noqa: E402
from sinc_pipeline.io.writer import Target  # noqa: E402
from sinc_pipeline.sync.diff import Changes  # noqa: E402

COLS = ["id", "ean", "ncm", "descricao", "unidade", "preco_venda", "ativo", "atualizado_em"]


@contextlib.contextmanager
def database(engine: str):
    if engine == "postgresql":
        with temp_pg_database() as url:
            yield url
    elif engine == "mariadb":
        with temp_mariadb_database() as url:
            yield url
    else:
        work = Path(tempfile.mkdtemp(prefix="sinc_apply_bench_"))
        try:
            yield f"sqlite:///{work / 'loja.db'}"
        finally:
            shutil.rmtree(work, ignore_errors=True)


def changes_for(rows: int) -> tuple[pa.Table, Changes]:
    base = products_table(rows).drop_columns(["custo"]).rename_columns(COLS)
    ids = base.column("id")
    upd = base.filter(pc.equal(pc.subtract(ids, pc.multiply(pc.divide(ids, 100), 100)), 7))     # id % 100 = 7
    upd = upd.set_column(5, "preco_venda", pc.add(upd.column(5), pa.scalar(1, upd.schema.field(5).type)))
    new = products_table(rows // 1000, seed=9, start_id=rows + 1).drop_columns(["custo"]).rename_columns(COLS)
    gone = base.filter(pc.equal(pc.subtract(ids, pc.multiply(pc.divide(ids, 1000), 1000)), 3)).select(["id"])
    return base, Changes(new, upd, gone)


def by_sync(url: str, ch: Changes, paths: list) -> float:
    with connect(url, "bench", write=True) as conn:
        table = sa.Table("produto", sa.MetaData(), autoload_with=conn)
        t = Target(table, {c: c for c in COLS}, ["id"], {}, {})
        t0 = time.perf_counter()
        counts, refused = apply_isolating(conn, [(t, ch)])
        secs = time.perf_counter() - t0
        assert not refused and counts[0] == {"inserted": ch.inserts.num_rows, "updated": ch.updates.num_rows,
                                             "deleted": ch.deletes.num_rows}, counts
        conn.rollback()
    return secs


def by_driver(url: str, ch: Changes, engine: str) -> float:
    """(c): deletes, inserts and updates by the raw driver's executemany of tuples."""
    def cols(x: pa.Table) -> list[list]:
        out = [c.to_pylist() for c in x.columns]
        if engine == "sqlite":    # the text SQLAlchemy's SQLite types store
            out[5] = [str(v) if isinstance(v, Decimal) else v for v in out[5]]
            out[7] = [v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for v in out[7]]
        return out
    u, n = cols(ch.updates), cols(ch.inserts)
    gone = [(v,) for v in ch.deletes.column(0).to_pylist()]
    mark = "?" if engine == "sqlite" else "%s"
    insert = f"INSERT INTO produto ({', '.join(COLS)}) VALUES ({', '.join([mark] * len(COLS))})"
    update = f"UPDATE produto SET {', '.join(f'{c} = {mark}' for c in COLS[1:])} WHERE id = {mark}"
    inserts, updates = list(zip(*n)), list(zip(*(u[1:] + [u[0]])))
    with connect(url, "bench", write=True) as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        t0 = time.perf_counter()
        cur.executemany(f"DELETE FROM produto WHERE id = {mark}", gone)
        cur.executemany(insert, inserts)
        cur.executemany(update, updates)
        secs = time.perf_counter() - t0
        cur.close()
        conn.rollback()
    return secs


def run(engine: str, rows: int) -> list[tuple[str, float, str]]:
    base, ch = changes_for(rows)
    out = []
    with database(engine) as url:
        store_metadata().tables["produto"].create(get_engine(url))
        with get_engine(url).begin() as c:
            bulk_insert(c, "produto", base)
        del base
        real, choose = writer.plan, apply_pg.choose
        variants = [("SQLAlchemy executemany of dicts (before)", lambda *a: None, None),
                    ("fast path (after)", real, None)]
        if engine == "postgresql":
            variants.append(("fast path, copy-rows forced", real, lambda *a: "copy-rows"))
        for label, planner, forced in variants:
            paths: list = []

            def spy(*a, planner=planner, paths=paths):
                chosen = planner(*a)
                paths.append(f"{a[2]}: {getattr(chosen, 'path', 'generic')}")
                return chosen
            writer.plan, apply_pg.choose = spy, forced or choose
            try:
                secs = min(by_sync(url, ch, paths) for _ in range(3))
            finally:
                writer.plan, apply_pg.choose = real, choose
            out.append((label, secs, ", ".join(dict.fromkeys(paths))))
        out.append(("(c) raw driver executemany of tuples", min(by_driver(url, ch, engine) for _ in range(3)), ""))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["sqlite", "postgresql", "mariadb", "all"], default="all")
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    _, ch = changes_for(args.rows)
    n = ch.updates.num_rows + ch.inserts.num_rows + ch.deletes.num_rows
    for engine in (["sqlite", "postgresql", "mariadb"] if args.engine == "all" else [args.engine]):
        print(f"{engine}: apply of {n:,} changes to a {args.rows:,}-row table (best of 3):", flush=True)
        results = run(engine, args.rows)
        before = results[0][1]
        for label, secs, paths in results:
            print(f"  {label:<42} {secs:6.3f} s  {before / secs:5.1f}× before  {paths}", flush=True)


if __name__ == "__main__":
    main()
