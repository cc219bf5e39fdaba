"""Benchmark: `receber_dados` on a 1,000,000-row `produtos`, next to baselines measured in the same run.

For a SQLite origin and a PostgreSQL origin, each with a SQLite store: the origin has 1% of rows
updated, 0.1% inserted and 0.1% deleted since the store's copy. For each mode (diff, `cursor:
atualizado_em`, `capture: journal`) it prints the changed run and the idle run after it, twice:
the sync alone (``sync_unit``) and the whole `receber_dados` job in process (``cli/run.py``
``run_job``: the sync asset plus its check, whatever check main has). Baselines: (a) full reload
(delete all + fastest bulk insert), (b) raw read of both tables into Arrow with ADBC, (c) the same
12k changes applied with the raw sqlite3 driver in one transaction. Journal idle is also run at
``--small-rows`` to show it is flat in table size. Each measured step runs in a forked child, so
its peak RSS is its own (the SQLite read helper processes are not counted: see README).

    .venv/bin/python bench/sync_bench.py [--rows 1000000] [--small-rows 100000] [--skip-pg]
"""
from __future__ import annotations

import argparse
import contextlib
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

from common import PG_ADMIN, measured, temp_pg_database  # noqa: E402
from sinc_pipeline.capture.install import install_capture  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.settings import parse_settings  # noqa: E402
from sinc_pipeline.core.db import dispose_all, get_engine  # noqa: E402
from sinc_pipeline.demo.generate import products_table  # noqa: E402
from sinc_pipeline.demo.schema import origin_metadata, store_metadata  # noqa: E402
from sinc_pipeline.sync.state import ensure_state_table, set_cursor  # noqa: E402
from sinc_pipeline.sync.unit import sync_unit  # noqa: E402



def make_tables(origin_url: str, store_path: Path, rows: int, journal: bool = False) -> None:
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
    dispose_all()
    if journal:      # capture installed, and a first (idle) run takes the journal's position
        st = settings_for(origin_url, store_path, "journal")
        install_capture(st)
        sync_unit(st, "loja_01", st.units("receive")[0])
        dispose_all()
    make_changes(origin_url, rows)


def make_changes(origin_url: str, rows: int) -> None:
    """At the origin: 1% updated, 0.1% inserted, 0.1% deleted."""
    o = get_engine(origin_url)
    now = dt.datetime(2026, 11, 28, 12, 0, 0)
    n_new = rows // 1000
    with o.begin() as c:
        c.execute(sa.text("UPDATE produtos SET preco = preco + 0.01, atualizado_em = :t WHERE id % 100 = 7"),
                  {"t": now if not origin_url.startswith("sqlite") else now.isoformat(sep=" ", timespec="microseconds")})
        c.execute(sa.text("DELETE FROM produtos WHERE id % 1000 = 3"))
        bulk_insert(c, "produtos", products_table(n_new, seed=9, start_id=rows + 1).set_column(
            8, "atualizado_em", pa.array([now] * n_new, pa.timestamp("us"))))
    dispose_all()


def settings_for(origin_url: str, store_path: Path, mode: str, home: Path | None = None):
    home = home or store_path.parent
    return parse_settings({
        "origin": {"url": origin_url},
        "dagster_home": str(home / "dagster"), "reports_root": str(home / "relatorios"),
        "snapshots": {"root": str(home / "snapshots")},
        "stores": [{"id": "loja_01", "url": f"sqlite:///{store_path}", "cnpj": "11222333000181"}],
        "tables": [{"name": "produtos", "direction": "receive", "key": ["id"], "store_table": "produto",
                    "columns": {"preco": "preco_venda"}, "exclude": ["custo"],
                    "cursor": "atualizado_em" if mode == "cursor" else None,
                    "capture": "journal" if mode == "journal" else None}],
    })


def run_sync(origin_url: str, store_path: str, mode: str):
    st = settings_for(origin_url, Path(store_path), mode)
    r = sync_unit(st, "loja_01", st.units("receive")[0])[0]
    return {"inserted": r.inserted, "updated": r.updated, "deleted": r.deleted, "compared": r.compared}


def run_job_once(origin_url: str, store_path: str, mode: str):
    """The `receber_dados` job in process, as the CLI runs it (sync asset + its check); the
    Definitions are built before the clock starts (a Dagster process builds them once)."""
    from dagster import DagsterInstance

    from sinc_pipeline.cli.run import run_job
    from sinc_pipeline.defs import build_defs
    st = settings_for(origin_url, Path(store_path), mode)
    defs = build_defs(st)
    with DagsterInstance.ephemeral() as instance:
        t0 = time.perf_counter()
        res = run_job(defs, "receber_dados", "loja_01", {}, instance)
        secs = time.perf_counter() - t0
    if not res.success:
        raise RuntimeError(res.error)
    sync = next(iter(res.syncs.values()), None)
    return {"secs": secs, "checks": {k: v["passou"] for k, v in res.checks.items()},
            "changed": None if sync is None else sync.as_dict()}


def apply_raw(origin_url: str, store_path: str):
    """(c): the same changes (read from the origin before the clock starts) applied with sqlite3's
    executemany in one transaction."""
    t = fast_read(origin_url, "SELECT id, ean, ncm, descricao, unidade, preco, ativo, atualizado_em FROM produtos")
    rows = t.num_rows
    store = fast_read(f"sqlite:///{store_path}", "SELECT id FROM produto")
    ids = pc.is_in(t.column(0), value_set=store.column(0))
    ident = t.column(0)
    seven = pc.equal(pc.subtract(ident, pc.multiply(pc.divide(ident, 100), 100)), 7)      # id % 100 = 7
    upd = t.filter(pc.and_(seven, ids))
    new = t.filter(pc.invert(ids))
    gone = pc.filter(store.column(0), pc.invert(pc.is_in(store.column(0), value_set=t.column(0))))

    def cols(x: pa.Table) -> list[list]:
        out = [c.to_pylist() for c in x.columns]
        out[5] = [str(v) if isinstance(v, Decimal) else v for v in out[5]]
        out[7] = [v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for v in out[7]]
        return out
    u, n = cols(upd), cols(new)
    conn = sqlite3.connect(store_path)
    t0 = time.perf_counter()
    with conn:
        conn.executemany("DELETE FROM produto WHERE id = ?", [(v,) for v in gone.to_pylist()])
        conn.executemany("INSERT INTO produto (id, ean, ncm, descricao, unidade, preco_venda, ativo, atualizado_em) "
                         "VALUES (?,?,?,?,?,?,?,?)", zip(*n))
        conn.executemany("UPDATE produto SET ean = ?, ncm = ?, descricao = ?, unidade = ?, preco_venda = ?, ativo = ?, "
                         "atualizado_em = ? WHERE id = ?", zip(*(u[1:] + [u[0]])))
    secs = time.perf_counter() - t0
    conn.close()
    del rows
    return {"secs": secs, "changes": upd.num_rows + new.num_rows + len(gone)}


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


MODES = ("diff", "cursor", "journal")


def bench_origin(label: str, make_origin, work: Path, rows: int, small_rows: int) -> list[tuple]:
    """``make_origin(tag)`` gives a fresh empty origin URL (journal mode needs its own: capture
    is installed before the changes are made)."""
    store0 = work / f"{label}_store0.db"
    t0 = time.perf_counter()
    origin_url = make_origin("plain")
    make_tables(origin_url, store0, rows)
    print(f"  [{label}] set-up {time.perf_counter() - t0:.1f}s", flush=True)
    out = []
    for name, fn in [("raw read of both tables (b)", raw_read_both), ("full reload (a)", full_reload)]:
        copy = work / f"{label}_base_{uuid.uuid4().hex[:6]}.db"
        shutil.copy(store0, copy)
        _, secs, mb = measured(fn, origin_url, str(copy))
        out.append((label, name, secs, mb, ""))
    copy = work / f"{label}_raw_apply.db"
    shutil.copy(store0, copy)
    res, _, mb = measured(apply_raw, origin_url, str(copy))
    out.append((label, "raw apply of the changes (c)", res["secs"], mb, f"{res['changes']} changes"))
    journal_origin = origin_url
    for mode in MODES:
        url = origin_url
        if mode == "journal":
            url = make_origin("journal")
            base = work / f"{label}_journal_store0.db"
            make_tables(url, base, rows, journal=True)
        else:
            base = store0
        for how, fn in (("sync", run_sync), ("job", run_job_once)):
            copy = work / f"{label}_{mode}_{how}.db"
            shutil.copy(base, copy)
            if mode == "journal" and how == "job":     # the sync's run pruned the origin's journal
                url = clone_origin(journal_origin, make_origin)
            elif mode == "journal":
                journal_origin = clone_origin(url, make_origin)
            for state in ("1% changed", "idle"):
                res, secs, mb = measured(fn, url, str(copy), mode)
                if how == "job":
                    secs = res.pop("secs")
                out.append((label, f"{mode} {how}: {state}", secs, mb, res))
            print(f"  [{label}] {mode} {how} done", flush=True)
    if small_rows:
        url = make_origin("small")
        small = work / f"{label}_small.db"
        make_tables(url, small, small_rows, journal=True)
        measured(run_sync, url, str(small), "journal")       # the changes
        for how, fn in (("sync", run_sync), ("job", run_job_once)):
            res, secs, mb = measured(fn, url, str(small), "journal")
            if how == "job":
                secs = res.pop("secs")
            out.append((label, f"journal {how}: idle at {small_rows:,}", secs, mb, res))
    return out


def clone_origin(url: str, make_origin) -> str:
    """A copy of an origin database, journal included, with a new URL."""
    dispose_all()
    if url.startswith("sqlite"):
        src = Path(sa.make_url(url).database)
        dst = src.with_name(f"{src.stem}_{uuid.uuid4().hex[:6]}.db")
        for suffix in ("", "-wal"):
            if Path(f"{src}{suffix}").exists():
                shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
        return f"sqlite:///{dst}"
    new = make_origin(f"clone of {url}")
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE "{sa.make_url(new).database}"')
        c.exec_driver_sql(f'CREATE DATABASE "{sa.make_url(new).database}" TEMPLATE "{sa.make_url(url).database}"')
    admin.dispose()
    return new


def report(rows: list[tuple], n: int) -> None:
    by = {}
    for label, name, secs, mb, res in rows:
        by[(label, name)] = secs
        print(f"  {label:<10} {name:<34} {secs:8.3f} s  {mb:8.0f} MB  {res}")
    print("\nTargets (this 2-core machine; `job` = the receber_dados job in process, sync + check):")
    for label in sorted({r[0] for r in rows}):
        raw, reload_ = by[(label, "raw read of both tables (b)")], by[(label, "full reload (a)")]
        apply_ = by[(label, "raw apply of the changes (c)")]
        checks = []
        for how in ("sync", "job"):
            checks += [
                (f"journal {how}: 1% changed ≤ 2× (c)", by[(label, f"journal {how}: 1% changed")], 2 * apply_),
                (f"journal {how}: idle ≤ 50 ms", by[(label, f"journal {how}: idle")], 0.05),
                (f"cursor {how}: 1% changed ≤ 15% of (a)", by[(label, f"cursor {how}: 1% changed")], 0.15 * reload_),
                (f"cursor {how}: idle ≤ 5% of (a)", by[(label, f"cursor {how}: idle")], 0.05 * reload_),
                (f"diff {how}: 1% changed ≤ 1.5× (b)", by[(label, f"diff {how}: 1% changed")], 1.5 * raw),
                (f"diff {how}: idle ≤ 1.5× (b)", by[(label, f"diff {how}: idle")], 1.5 * raw),
            ]
            small = [k for k in by if k[0] == label and k[1].startswith(f"journal {how}: idle at")]
            if small:
                big, little = by[(label, f"journal {how}: idle")], by[small[0]]
                checks.append((f"journal {how}: idle flat ({n:,} vs {small[0][1].split(' at ')[1]})", big,
                               1.2 * little))
        for what, got, limit in checks:
            print(f"  {label:<10} {what:<46} {got:7.3f} s vs {limit:7.3f} s  {'OK' if got <= limit else 'MISSED'}")
    peak = max(r[3] for r in rows if r[1].split()[0] in MODES)
    print(f"  peak memory of the sync and job runs: {peak:.0f} MB (target < 1024 MB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small-rows", type=int, default=100_000)
    ap.add_argument("--skip-pg", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sinc_bench_"))
    results = []
    print(f"sync_bench: {args.rows:,} rows, work dir {work}", flush=True)
    try:
        results += bench_origin("sqlite", lambda tag: f"sqlite:///{work / f'origem_{tag}.db'}", work, args.rows,
                                args.small_rows)
        if not args.skip_pg:
            with contextlib.ExitStack() as stack:
                results += bench_origin("postgresql", lambda _tag: stack.enter_context(temp_pg_database()), work,
                                        args.rows, args.small_rows)
        print()
        report(results, args.rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
