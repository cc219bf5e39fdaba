"""Benchmark: Alinhar Estoque for one store with 200,000 products, next to the raw read of both stocks.

SQLite origin + SQLite store in a temporary folder. The origin holds the stock of two stores
(200,000 products each; the store's filter selects its own); the store's stock has drifted on 4%
of its products (+1.000), 0.1% are only at the store and 0.1% only at the origin, and 300 sales
(with items and valid NFC-e) wait to be sent. Measured, each on a fresh copy of the databases:

* raw read of both stocks (key + quantity, the store's rows) with the fastest reader available
  (ADBC SQLite when installed) and with the plain sqlite3 module — the floor;
* ``stock_align.align_stock`` end to end (send pending, read both, compare, Parquet, apply with
  conditional UPDATEs, INSERTs and audit rows in one transaction), with its steps;
* the same through Dagster: job ``alinhar_estoque`` (unless ``--skip-dagster``).

Target: end to end at most 3 s.

    .venv/bin/python bench/stock_bench.py [--products 200000] [--skip-dagster]
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.settings import parse_settings  # noqa: E402
from sinc_pipeline.core.db import dispose_all, get_engine  # noqa: E402
from sinc_pipeline.demo.generate import NOW, _sales, config_text, demo_stores  # noqa: E402
from sinc_pipeline.demo.schema import origin_metadata, store_metadata  # noqa: E402
from sinc_pipeline.stock.align import align_stock, read_stocks  # noqa: E402

import yaml  # noqa: E402

TARGET_S = 3.0
PENDING_SALES = 300


def _stock(n: int, seed: int) -> tuple[list[int], list[Decimal]]:
    rng = random.Random(seed)
    return list(range(1, n + 1)), [Decimal(rng.randrange(0, 200_000)).scaleb(-3) for _ in range(n)]


def build(folder: Path, n: int) -> dict:
    """Create origem.db and loja_01.db; returns the parsed settings' raw dict."""
    stores = demo_stores()
    for s in stores:
        s["url"] = f"sqlite:///{folder / (s['id'] + '.db')}"
    origin_url = f"sqlite:///{folder / 'origem.db'}"
    origin = get_engine(origin_url)
    origin_metadata().create_all(origin)
    ids, qty = _stock(n, 1)
    at = [NOW - dt.timedelta(hours=i % 48) for i in ids]
    with origin.begin() as c:
        for loja_id, seed in ((1, 1), (2, 2)):
            _, q = _stock(n, seed)
            only_store = {i for i in ids if i % 1000 == 7}            # deleted at the origin
            rows = [(i, v, t) for i, v, t in zip(ids, q, at) if i not in only_store]
            rows += [(n + i, Decimal("0.500"), NOW) for i in range(1, n // 1000 + 1)]   # new at the origin
            bulk_insert(c, "estoque", pa.table({
                "loja_id": pa.array([loja_id] * len(rows), pa.int64()),
                "produto_id": pa.array([r[0] for r in rows], pa.int64()),
                "quantidade": pa.array([r[1] for r in rows], pa.decimal128(14, 3)),
                "atualizado_em": pa.array([r[2] for r in rows], pa.timestamp("us"))}))
    store = get_engine(stores[0]["url"])
    store_metadata().create_all(store)
    drifted = [v + Decimal("1.000") if i % 25 == 0 else v for i, v in zip(ids, qty)]
    with store.begin() as c:
        bulk_insert(c, "estoque", pa.table({
            "produto_id": pa.array(ids, pa.int64()), "quantidade": pa.array(drifted, pa.decimal128(14, 3)),
            "atualizado_em": pa.array(at, pa.timestamp("us"))}))
        price = {i: Decimal("9.90") for i in range(1, 2001)}
        sales, items, docs = _sales(random.Random(3), stores[0], price, PENDING_SALES, 100)
        for table, data in (("vendas", sales), ("venda_itens", items), ("documentos_fiscais", docs)):
            bulk_insert(c, table, pa.Table.from_pylist(data))
    for s in stores[1:]:
        store_metadata().create_all(get_engine(s["url"]))
    dispose_all()
    raw = yaml.safe_load(config_text({"origin_url": origin_url, "stores": stores}, sales_journal=False))
    raw["reports_root"] = str(folder / "relatorios")
    raw["dagster_home"] = str(folder / "dagster")
    return raw


def fresh_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for f in src.glob("*.db"):
        shutil.copy(f, dst / f.name)


def retarget(raw: dict, src: Path, dst: Path) -> dict:
    text = yaml.safe_dump(raw, allow_unicode=True).replace(str(src), str(dst))
    return yaml.safe_load(text)


def raw_read_fastest(folder: Path) -> tuple[float, str]:
    queries = [(folder / "origem.db", "SELECT produto_id, quantidade FROM estoque WHERE loja_id = 1"),
               (folder / "loja_01.db", "SELECT produto_id, quantidade FROM estoque")]
    try:
        import adbc_driver_sqlite.dbapi as adbc
    except ImportError:
        return raw_read_sqlite3(folder), "sqlite3"
    t0 = time.perf_counter()
    for path, sql in queries:
        with adbc.connect(str(path)) as conn, conn.cursor() as cur:
            cur.execute(sql)
            cur.fetch_arrow_table()
    return time.perf_counter() - t0, "ADBC SQLite"


def raw_read_sqlite3(folder: Path) -> float:
    t0 = time.perf_counter()
    for path, sql in ((folder / "origem.db", "SELECT produto_id, quantidade FROM estoque WHERE loja_id = 1"),
                      (folder / "loja_01.db", "SELECT produto_id, quantidade FROM estoque")):
        conn = sqlite3.connect(path)
        conn.execute(sql).fetchall()
        conn.close()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=200_000)
    ap.add_argument("--skip-dagster", action="store_true")
    args = ap.parse_args()
    n = args.products
    with tempfile.TemporaryDirectory(prefix="stock_bench_") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        t0 = time.perf_counter()
        raw = build(base, n)
        print(f"Dados gerados em {time.perf_counter() - t0:.1f} s: {n:,} produtos por loja "
              f"(origem com 2 lojas), 4% divergentes, {PENDING_SALES} vendas pendentes de envio.")

        fresh_copy(base, Path(tmp) / "raw")
        fastest, reader = raw_read_fastest(Path(tmp) / "raw")
        plain = raw_read_sqlite3(Path(tmp) / "raw")
        settings = parse_settings(retarget(raw, base, Path(tmp) / "raw"))
        _, _, ours = read_stocks(settings, "loja_01")
        dispose_all()

        run_dir = Path(tmp) / "run"
        fresh_copy(base, run_dir)
        settings = parse_settings(retarget(raw, base, run_dir))
        t0 = time.perf_counter()
        result = align_stock(settings, "loja_01", run_id="bench")
        total = time.perf_counter() - t0
        a, d = result.alignment, result.divergences
        dispose_all()

        print("\nAlinhar Estoque, loja_01 (SQLite origem + SQLite loja)")
        print(f"  divergências: {d.table.num_rows:,}  ajustes: {a.updated:,} atualizações + {a.inserted:,} inclusões, "
              f"{a.audit_rows:,} registros de auditoria, {len(a.conflicts)} conflitos; "
              f"vendas enviadas: {sum(r.inserted for r in result.sent if r.table == 'vendas')}")
        print(f"  leitura bruta dos dois estoques ({reader}):        {fastest:6.3f} s")
        print(f"  leitura bruta dos dois estoques (sqlite3 fetchall): {plain:6.3f} s")
        print(f"  leitura dos dois estoques pelo alinhamento:         {ours:6.3f} s")
        for k, v in result.timings.items():
            print(f"  align_stock {k:<12}                            {v:6.3f} s")
        print(f"  align_stock de ponta a ponta:                       {total:6.3f} s   (meta ≤ {TARGET_S:.1f} s: "
              f"{'OK' if total <= TARGET_S else 'ACIMA'})")

        if not args.skip_dagster:
            from dagster import DagsterInstance

            from sinc_pipeline import build_defs
            from sinc_pipeline.cli.run import run_job
            dag_dir = Path(tmp) / "dagster_run"
            fresh_copy(base, dag_dir)
            settings = parse_settings(retarget(raw, base, dag_dir))
            defs = build_defs(settings)
            with DagsterInstance.ephemeral() as instance:
                t0 = time.perf_counter()
                res = run_job(defs, "alinhar_estoque", "loja_01", {}, instance)
                elapsed = time.perf_counter() - t0
            adj = res.assets.get("ajustes_estoque", {})
            print(f"  job alinhar_estoque (Dagster, em processo):         {elapsed:6.3f} s   "
                  f"(sucesso={res.success}, ajustes={adj.get('atualizados', 0) + adj.get('incluidos', 0)})")
            dispose_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
