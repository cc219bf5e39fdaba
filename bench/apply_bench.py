"""Benchmark: applying 12,000 changes (10,000 updates, 1,000 inserts, 1,000 deletes) to a SQLite
store's 1,000,000-row `produto`, by the sync's apply (``io/isolate.py`` → ``io/writer.py``, one
transaction, rolled back after each run) with SQLAlchemy's executemany of dicts (before) and with
``writer.Prepared`` (tuples, the driver's executemany), next to the raw sqlite3 executemany of
the same rows (baseline (c) of ``sync_bench.py``). Best of 3 each.

    .venv/bin/python bench/apply_bench.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sinc_pipeline.core.db import connect, get_engine  # noqa: E402
from sinc_pipeline.demo.generate import products_table  # noqa: E402
from sinc_pipeline.demo.schema import store_metadata  # noqa: E402
from sinc_pipeline.io import writer  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.io.isolate import apply_isolating  # noqa: E402
from sinc_pipeline.io.writer import Target  # noqa: E402
from sinc_pipeline.sync.diff import Changes  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sinc_apply_bench_"))
    try:
        url = f"sqlite:///{work / 'loja.db'}"
        base = products_table(args.rows).drop_columns(["custo"]).rename_columns(
            ["id", "ean", "ncm", "descricao", "unidade", "preco_venda", "ativo", "atualizado_em"])
        store_metadata().tables["produto"].create(get_engine(url))
        with get_engine(url).begin() as c:
            bulk_insert(c, "produto", base)
        ids = base.column("id")
        upd = base.filter(pc.equal(pc.subtract(ids, pc.multiply(pc.divide(ids, 100), 100)), 7))
        upd = upd.set_column(5, "preco_venda", pc.add(upd.column(5), pa.scalar(1, upd.schema.field(5).type)))
        new = products_table(args.rows // 1000, seed=9, start_id=args.rows + 1).drop_columns(["custo"]).rename_columns(
            base.column_names)
        gone = base.filter(pc.equal(pc.subtract(ids, pc.multiply(pc.divide(ids, 1000), 1000)), 3)).select(["id"])
        changes = Changes(new, upd, gone)
        results = {}
        for label, prepared in (("SQLAlchemy executemany of dicts (before)", False), ("writer.Prepared (after)", True)):
            real = writer.prepare
            if not prepared:
                writer.prepare = lambda *a: None
            times = []
            for _ in range(3):
                with connect(url, "bench", write=True) as conn:
                    table = sa.Table("produto", sa.MetaData(), autoload_with=conn)
                    t = Target(table, {c: c for c in base.column_names}, ["id"], {}, {})
                    t0 = time.perf_counter()
                    counts, refused = apply_isolating(conn, [(t, changes)])
                    times.append(time.perf_counter() - t0)
                    assert not refused and counts[0]["updated"] == upd.num_rows
                    conn.rollback()
            writer.prepare = real
            results[label] = min(times)
        print(f"apply of {upd.num_rows + new.num_rows + gone.num_rows:,} changes to a {args.rows:,}-row SQLite table:")
        for label, secs in results.items():
            print(f"  {label:<42} {secs:6.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
