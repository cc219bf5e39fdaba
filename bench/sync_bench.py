"""Benchmark: one `receber_dados` run on a 1,000,000-row `produtos`, next to baselines measured in the same run.

For a SQLite origin and a PostgreSQL origin, each with a SQLite store: the origin has 1% of rows
updated, 0.1% inserted and 0.1% deleted since the store's copy. Prints, for plain diff mode and
for `cursor: atualizado_em`, the time and peak memory of the changed run and of the idle run
after it, and the baselines (a) full reload (delete all + fastest bulk insert) and (b) raw read of
both tables into Arrow with the fastest reader available. Each measured step runs in a forked
child so its peak RSS is its own.

    .venv/bin/python bench/sync_bench.py [--rows 1000000] [--skip-pg]
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import measured, temp_pg_database  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.settings import parse_settings  # noqa: E402
from sinc_pipeline.core.db import dispose_all, get_engine  # noqa: E402
from sinc_pipeline.demo.generate import products_table  # noqa: E402
from sinc_pipeline.demo.schema import origin_metadata, store_metadata  # noqa: E402
from sinc_pipeline.sync.state import ensure_state_table, set_cursor  # noqa: E402
from sinc_pipeline.sync.unit import sync_unit  # noqa: E402



def make_tables(origin_url: str, store_path: Path, rows: int) -> None:
    base = products_table(rows)
    o = get_engine(origin_url)
    md = origin_metadata()
    md.tables["produtos"].create(o)
    with o.begin() as c:
        bulk_insert(c, "produtos", base)
    s = get_engine(f"sqlite:///{store_path}")
    smd = store_metadata()
    smd.tables["produto"].create(s)
    with s.begin() as c:
        bulk_insert(c, "produto", base.drop_columns(["custo"]), {"preco": "preco_venda"})
        ensure_state_table(c)
        set_cursor(c, "loja_01", "produtos", "receive", pc.max(base["atualizado_em"]).as_py(), "bench")
    # changes at the origin: 1% updated, 0.1% inserted, 0.1% deleted
    now = dt.datetime(2026, 11, 28, 12, 0, 0)
    n_upd, n_new = rows // 100, rows // 1000
    with o.begin() as c:
        c.execute(sa.text("UPDATE produtos SET preco = preco + 0.01, atualizado_em = :t WHERE id % 100 = 7"),
                  {"t": now if not origin_url.startswith("sqlite") else now.isoformat(sep=" ", timespec="microseconds")})
        c.execute(sa.text("DELETE FROM produtos WHERE id % 1000 = 3"))
        bulk_insert(c, "produtos", products_table(n_new, seed=9, start_id=rows + 1).set_column(
            8, "atualizado_em", pa.array([now] * n_new, pa.timestamp("us"))))
    dispose_all()
    del n_upd


def settings_for(origin_url: str, store_path: Path, cursor: bool):
    return parse_settings({
        "origin": {"url": origin_url},
        "stores": [{"id": "loja_01", "url": f"sqlite:///{store_path}", "cnpj": "11222333000181"}],
        "tables": [{"name": "produtos", "direction": "receive", "key": ["id"], "store_table": "produto",
                    "columns": {"preco": "preco_venda"}, "exclude": ["custo"],
                    "cursor": "atualizado_em" if cursor else None}],
    })


def run_sync(origin_url: str, store_path: str, cursor: bool):
    st = settings_for(origin_url, Path(store_path), cursor)
    r = sync_unit(st, "loja_01", st.units("receive")[0])[0]
    return {"inserted": r.inserted, "updated": r.updated, "deleted": r.deleted, "compared": r.compared}


def fast_read(url: str, sql: str) -> pa.Table:
    """The fastest reader available here: ADBC when installed, else the raw DB-API into Arrow."""
    try:
        if url.startswith("sqlite"):
            import adbc_driver_sqlite.dbapi as adbc
            conn = adbc.connect(url.split("///", 1)[1])
        else:
            import adbc_driver_postgresql.dbapi as adbc
            conn = adbc.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(False))
        with conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()
    except ImportError:
        eng = get_engine(url)
        with eng.connect() as c:
            res = c.exec_driver_sql(sql)
            cols = list(zip(*res.fetchall()))
            return pa.table({f"c{i}": pa.array(col) for i, col in enumerate(cols)})


def raw_read_both(origin_url: str, store_path: str):
    a = fast_read(origin_url, "SELECT id, ean, ncm, descricao, unidade, preco, ativo, atualizado_em FROM produtos")
    b = fast_read(f"sqlite:///{store_path}",
                  "SELECT id, ean, ncm, descricao, unidade, preco_venda, ativo, atualizado_em FROM produto")
    return a.num_rows + b.num_rows


def full_reload(origin_url: str, store_path: str):
    t = fast_read(origin_url, "SELECT id, ean, ncm, descricao, unidade, preco, ativo, atualizado_em FROM produtos")
    conn = sqlite3.connect(store_path)
    with conn:
        conn.execute("DELETE FROM produto")
        cols = [c.to_pylist() for c in t.columns]
        cols[5] = [str(v) if isinstance(v, Decimal) else v for v in cols[5]]
        cols[7] = [v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for v in cols[7]]
        conn.executemany("INSERT INTO produto (id, ean, ncm, descricao, unidade, preco_venda, ativo, atualizado_em) "
                         "VALUES (?,?,?,?,?,?,?,?)", zip(*cols))
    conn.close()
    return t.num_rows


def bench_origin(label: str, origin_url: str, work: Path, rows: int) -> list[tuple]:
    store0 = work / f"{label}_store0.db"
    t0 = time.perf_counter()
    make_tables(origin_url, store0, rows)
    print(f"  [{label}] set-up {time.perf_counter() - t0:.1f}s", flush=True)
    out = []
    for name, fn, args in [("raw read of both tables (b)", raw_read_both, ()),
                           ("full reload (a)", full_reload, ())]:
        copy = work / f"{label}_base_{uuid.uuid4().hex[:6]}.db"
        shutil.copy(store0, copy)
        _, secs, mb = measured(fn, origin_url, str(copy), *args)
        out.append((label, name, secs, mb, ""))
    for cursor in (False, True):
        copy = work / f"{label}_{'cursor' if cursor else 'diff'}.db"
        shutil.copy(store0, copy)
        mode = "cursor" if cursor else "diff"
        res, secs, mb = measured(run_sync, origin_url, str(copy), cursor)
        out.append((label, f"{mode}: 1% changed", secs, mb, res))
        res, secs, mb = measured(run_sync, origin_url, str(copy), cursor)
        out.append((label, f"{mode}: idle", secs, mb, res))
    return out


def report(rows: list[tuple]) -> None:
    by = {}
    for label, name, secs, mb, res in rows:
        by[(label, name)] = secs
        print(f"  {label:<10} {name:<30} {secs:8.2f} s  {mb:8.0f} MB  {res}")
    print("\nTargets (this 2-core machine):")
    for label in sorted({r[0] for r in rows}):
        raw, reload_ = by[(label, "raw read of both tables (b)")], by[(label, "full reload (a)")]
        checks = [
            ("diff: 1% changed ≤ 1.5× raw read", by[(label, "diff: 1% changed")], 1.5 * raw),
            ("diff: idle ≤ 1.5× raw read", by[(label, "diff: idle")], 1.5 * raw),
            ("cursor: 1% changed ≤ 15% of full reload", by[(label, "cursor: 1% changed")], 0.15 * reload_),
            ("cursor: idle ≤ 5% of full reload", by[(label, "cursor: idle")], 0.05 * reload_),
        ]
        for what, got, limit in checks:
            print(f"  {label:<10} {what:<42} {got:6.2f} s vs {limit:6.2f} s  {'OK' if got <= limit else 'MISSED'}")
    peak = max(r[3] for r in rows if r[1].startswith(("diff", "cursor")))
    print(f"  peak memory of the sync runs: {peak:.0f} MB (target < 1024 MB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-pg", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sinc_bench_"))
    results = []
    print(f"sync_bench: {args.rows:,} rows, work dir {work}", flush=True)
    try:
        results += bench_origin("sqlite", f"sqlite:///{work / 'origem.db'}", work, args.rows)
        if not args.skip_pg:
            with temp_pg_database() as url:
                results += bench_origin("postgresql", url, work, args.rows)
        print()
        report(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
