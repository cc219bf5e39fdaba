"""Benchmark: one SQLite read of a 1,000,000-row `produtos` into canonical Arrow, three ways.

The JSON path (in process, ``reader.read_sqlite_json``), the ADBC helper process
(``io/sqlite_helper.py``, warm: its start-up is printed apart) and, as the floor, the ADBC SQLite
driver in process (what the sync must not do: see README "Performance"). Best of 3 each, in
one process; the in-process ADBC read goes last, in a forked child, so the parent never has
two SQLite libraries loaded.

    .venv/bin/python bench/read_bench.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import measured  # noqa: E402
from sinc_pipeline.core.db import connect, dispose_all, get_engine  # noqa: E402
from sinc_pipeline.core.types import arrow_type  # noqa: E402
from sinc_pipeline.demo.generate import products_table  # noqa: E402
from sinc_pipeline.demo.schema import origin_metadata  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.io.reader import read_sqlite_json, select_sql  # noqa: E402
from sinc_pipeline.io.sqlite_helper import open_sqlite_reader  # noqa: E402


def best(fn, n=3):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def adbc_in_process(path: str) -> float:
    import adbc_driver_sqlite.dbapi as adbc
    cols = "id, ean, ncm, descricao, unidade, preco, custo, ativo, atualizado_em"

    def one():
        with adbc.connect(path) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT {cols} FROM produtos")
            return cur.fetch_arrow_table()
    return best(one)[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sinc_read_bench_"))
    try:
        url = f"sqlite:///{work / 'origem.db'}"
        origin_metadata().tables["produtos"].create(get_engine(url))
        with get_engine(url).begin() as c:
            bulk_insert(c, "produtos", products_table(args.rows))
        with connect(url, "bench") as conn:
            table = sa.Table("produtos", sa.MetaData(), autoload_with=conn)
            schema = pa.schema([(c.name, arrow_type(c.type)) for c in table.c])
            stmt = select_sql(table, {c: c for c in schema.names}, schema.names, {})
            json_s, a = best(lambda: read_sqlite_json(conn, stmt, schema, 50_000, table))
            reader = open_sqlite_reader(url)
            t0 = time.perf_counter()
            b = reader.read_sqlite(conn, stmt, schema)
            cold = time.perf_counter() - t0
            helper_s, b = best(lambda: reader.read_sqlite(conn, stmt, schema))
            reader.close()
        assert a.equals(b), "the helper must read what the JSON path reads"
        dispose_all()                      # no sqlite3 connection open when the child loads the driver
        adbc_s, _, _ = measured(adbc_in_process, str(work / "origem.db"))
        floor = adbc_s if isinstance(adbc_s, float) else float("nan")
        print(f"SQLite read of {args.rows:,} rows x {len(schema)} columns into canonical Arrow (best of 3):")
        print(f"  JSON path, in process          {json_s:6.2f} s  ({json_s / floor:.1f}× the floor)")
        print(f"  ADBC helper process, warm      {helper_s:6.2f} s  ({helper_s / floor:.1f}× the floor); "
              f"first read with the helper's start {cold:.2f} s")
        print(f"  ADBC in process (floor)        {floor:6.2f} s  (raw driver types, no canonical casts)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
