"""Benchmark: Gerar Base de Dados on a store with a 1,000,000-row table, next to raw baselines.

In a temporary folder: a SQLite store database whose ``produto`` has ``--rows`` rows, and a
SQLite origin whose ``produtos`` has as many. Each measured step runs in a forked child, so
its peak RSS is its own. Prints, with the targets of issue #3:

* full snapshot: time and MB/s (store database bytes per second), next to the raw cost of
  reading the table into Arrow (the same fastest safe reader the dump uses: SQLite renders JSON,
  Arrow parses it) and writing one Parquet file — target at most 1.3x; ADBC's SQLite driver,
  which may not share a process with sqlite3 on the same file, is shown for reference;
* an incremental after 1% of the rows changed: size and time against the full snapshot —
  targets at most 3% of its size and 40% of its time; and an incremental with nothing changed;
* restore of the chain (the last full snapshot and its incrementals) into SQLite and PostgreSQL;
* criar_base_loja from the origin next to a raw read plus bulk insert — target at most 1.5x.

    .venv/bin/python bench/snapshot_bench.py [--rows 1000000] [--skip-pg]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import best_of, measured, temp_pg_database  # noqa: E402
from sinc_pipeline.provisioning.store_database import create_store_database  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.settings import parse_settings  # noqa: E402
from sinc_pipeline.core.db import dispose_all, get_engine  # noqa: E402
from sinc_pipeline.io.ddl import create_table  # noqa: E402
from sinc_pipeline.demo.generate import products_table  # noqa: E402
from sinc_pipeline.demo.schema import origin_metadata, store_metadata  # noqa: E402
from sinc_pipeline.snapshots.dump import dump_store  # noqa: E402
from sinc_pipeline.io.reader import read_sqlite_json, select_sql  # noqa: E402
from sinc_pipeline.snapshots.restore import restore  # noqa: E402
from sinc_pipeline.snapshots import LocalStorage  # noqa: E402
from sinc_pipeline.core.types import arrow_type  # noqa: E402

PG_ADMIN = os.environ.get("SINC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
STORE = "loja_01"


def settings_for(work: Path, store_url: str) -> object:
    return parse_settings({
        "origin": {"url": f"sqlite:///{work / 'origem.db'}"},
        "stores": [{"id": STORE, "url": store_url, "cnpj": "11222333000181"}],
        "tables": [{"name": "produtos", "direction": "receive", "key": ["id"], "store_table": "produto",
                    "columns": {"preco": "preco_venda"}, "exclude": ["custo"], "cursor": "atualizado_em"}],
        "snapshots": {"root": str(work / "snapshots"), "keep_full": 7},
        "dagster_home": str(work / "dagster"),
    })


# ----------------------------------------------------------------------------------------------
# Steps (each runs in a child)
# ----------------------------------------------------------------------------------------------
def setup(work: str, rows: int) -> dict:
    work = Path(work)
    base = products_table(rows)
    origin = get_engine(f"sqlite:///{work / 'origem.db'}")
    origin_metadata().tables["produtos"].create(origin)
    with origin.begin() as c:
        bulk_insert(c, "produtos", base)
    store = get_engine(f"sqlite:///{work / 'loja.db'}")
    store_metadata().tables["produto"].create(store)
    with store.begin() as c:
        bulk_insert(c, "produto", base.drop_columns(["custo"]), {"preco": "preco_venda"})
        c.execute(sa.text("CREATE TABLE sinc_bench_rodadas (n INTEGER)"))    # not configured: not dumped
    dispose_all()
    return {"store_mb": (work / "loja.db").stat().st_size / 1e6}


def change_one_percent(work: str) -> int:
    """1% of the rows get a new price and time (a different 1% each call)."""
    store = get_engine(f"sqlite:///{Path(work) / 'loja.db'}")
    stamp = dt.datetime.now().isoformat(sep=" ", timespec="microseconds")
    with store.begin() as c:
        n = c.execute(sa.text("UPDATE produto SET preco_venda = preco_venda + 0.01, atualizado_em = :t "
                              "WHERE id % 100 = (SELECT COUNT(*) FROM sinc_bench_rodadas) % 100"),
                      {"t": stamp}).rowcount
        c.execute(sa.text("INSERT INTO sinc_bench_rodadas VALUES (1)"))
    return n


def _store_table(url: str):
    eng = get_engine(url)
    with eng.connect() as c:
        t = sa.Table("produto", sa.MetaData(), autoload_with=c)
    return eng, t, pa.schema([(col.name, arrow_type(col.type)) for col in t.c])


def raw_read_write_parquet(work: str) -> int:
    eng, t, schema = _store_table(f"sqlite:///{Path(work) / 'loja.db'}")
    with eng.connect() as c:
        table = read_sqlite_json(c, select_sql(t, {n: n for n in schema.names}, schema.names, {}), schema)
    pq.write_table(table, Path(work) / "raw.parquet", compression="zstd")
    return table.num_rows


def raw_adbc_read_write_parquet(work: str) -> int:
    import adbc_driver_sqlite.dbapi as adbc
    with adbc.connect(str(Path(work) / "loja.db")) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM produto")
        table = cur.fetch_arrow_table()
    pq.write_table(table, Path(work) / "raw_adbc.parquet", compression="zstd")
    return table.num_rows


def snapshot(work: str, mode: str) -> dict:
    st = settings_for(Path(work), f"sqlite:///{Path(work) / 'loja.db'}")
    r = dump_store(st, STORE, mode)
    return {"kind": r.manifest.kind, "rows": sum(t.rows for t in r.manifest.tables.values()),
            "bytes": sum(t.bytes for t in r.manifest.tables.values())}


def restore_into(work: str, url: str) -> dict:
    r = restore(LocalStorage(Path(work) / "snapshots"), STORE, "latest", url)
    return {"rows": sum(r.tables.values()), "snapshots": len(r.chain)}


def bootstrap(work: str) -> int:
    target = Path(work) / f"nova_{uuid.uuid4().hex[:6]}.db"
    r = create_store_database(settings_for(Path(work), f"sqlite:///{target}"), STORE)
    return sum(r.tables.values())


def raw_read_bulk_insert(work: str) -> int:
    origin = get_engine(f"sqlite:///{Path(work) / 'origem.db'}")
    with origin.connect() as c:
        t = sa.Table("produtos", sa.MetaData(), autoload_with=c)
        cols = [col.name for col in t.c if col.name != "custo"]
        schema = pa.schema([(n, arrow_type(t.c[n].type)) for n in cols])
        table = read_sqlite_json(c, select_sql(t, {n: n for n in cols}, cols, {}), schema)
    target = get_engine(f"sqlite:///{Path(work) / f'raw_{uuid.uuid4().hex[:6]}.db'}")
    with target.begin() as c:
        store_schema = pa.schema([({"preco": "preco_venda"}.get(f.name, f.name), f.type) for f in schema])
        create_table(c, "produto", store_schema, ["id"])
        bulk_insert(c, "produto", table, {"preco": "preco_venda"})
    return table.num_rows


# ----------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the raw baselines, full and incremental")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sinc_snap_bench_"))
    w = str(work)
    res: dict[str, tuple] = {}
    print(f"snapshot_bench: {args.rows:,} rows, best of {args.repeat} for the raw baselines, full and "
          f"incremental snapshots; work dir {work}", flush=True)
    try:
        info, secs, _ = measured(setup, w, args.rows)
        store_mb = info["store_mb"]
        print(f"  set-up {secs:.1f}s, store database {store_mb:.0f} MB", flush=True)
        res["raw"] = best_of(args.repeat, raw_read_write_parquet, w)
        try:
            res["raw_adbc"] = best_of(args.repeat, raw_adbc_read_write_parquet, w)
        except (SystemExit, ImportError) as err:
            print(f"  (ADBC reference unavailable: {err})")
        res["full"] = best_of(args.repeat, snapshot, w, "completa")
        changed = []
        res["incr"] = best_of(args.repeat, snapshot, w, "incremental",
                              before=lambda: changed.append(measured(change_one_percent, w)[0]))
        changed = changed[-1]
        res["idle"] = measured(snapshot, w, "incremental")
        res["restore_sqlite"] = measured(restore_into, w, f"sqlite:///{work / 'restaurada.db'}")
        if not args.skip_pg:
            with temp_pg_database() as url:
                res["restore_pg"] = measured(restore_into, w, url)
        res["bootstrap"] = measured(bootstrap, w)
        res["raw_bulk"] = measured(raw_read_bulk_insert, w)
        report(res, store_mb, changed)
    finally:
        shutil.rmtree(work, ignore_errors=True)


LABELS = {
    "raw": "raw: read into Arrow (JSON) + write Parquet",
    "raw_adbc": "raw: ADBC read + write Parquet (reference)",
    "full": "full snapshot",
    "incr": "incremental, 1% changed",
    "idle": "incremental, nothing changed",
    "restore_sqlite": "restore of the chain -> SQLite",
    "restore_pg": "restore of the chain -> PostgreSQL",
    "bootstrap": "criar_base_loja (origin -> SQLite)",
    "raw_bulk": "raw: read origin + bulk insert",
}


def report(res: dict, store_mb: float, changed: int) -> None:
    print()
    for key, label in LABELS.items():
        if key in res:
            out, secs, mb = res[key]
            extra = f"  {out}" if isinstance(out, dict) else ""
            print(f"  {label:<46} {secs:7.2f} s  {mb:7.0f} MB peak{extra}")
    full_s, incr_s = res["full"][1], res["incr"][1]
    full_b, incr_b = res["full"][0]["bytes"], res["incr"][0]["bytes"]
    print(f"\n  full snapshot: {store_mb / full_s:.0f} MB/s of store database ({store_mb:.0f} MB), "
          f"{full_b / 1e6:.1f} MB of Parquet; {changed:,} rows changed before the incremental")
    print("\nTargets:")
    checks = [
        ("full snapshot ≤ 1.3× raw read + Parquet", full_s, 1.3 * res["raw"][1]),
        ("incremental size ≤ 3% of full", incr_b / 1e6, 0.03 * full_b / 1e6, "MB"),
        ("incremental time ≤ 40% of full", incr_s, 0.40 * full_s),
        ("criar_base_loja ≤ 1.5× raw read + bulk insert", res["bootstrap"][1], 1.5 * res["raw_bulk"][1]),
    ]
    for what, got, limit, *unit in checks:
        u = unit[0] if unit else "s"
        print(f"  {what:<48} {got:7.2f} {u} vs {limit:7.2f} {u}  {'OK' if got <= limit else 'MISSED'}")
    peak = max(r[2] for k, r in res.items() if not k.startswith("raw"))
    print(f"  peak memory of the snapshot/restore/criar_base_loja runs: {peak:.0f} MB")


if __name__ == "__main__":
    main()
