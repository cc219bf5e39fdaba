"""Benchmark: the cost of the check ``origem_e_loja_conferem`` next to the sync it checks, and of
``conferir_lojas``'s full comparison, on a 1,000,000-row ``produtos`` (SQLite origin and SQLite
store; ``--pg`` adds a PostgreSQL origin). Uses ``bench/sync_bench.py``'s set-up (1% updated,
0.1% inserted, 0.1% deleted at the origin), cursor mode.

For each: the changed sync, then its check (the written keys read back + per-range aggregates
in the databases); the idle sync, then its check; the full comparison (``verify_table`` without
written keys: what ``conferir_lojas`` runs per table, with the vectorised row hash); the raw
read of both tables (b). Each step runs in a forked child (its own peak RSS).

    .venv/bin/python bench/check_bench.py [--rows 1000000] [--pg]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import measured, temp_pg_database  # noqa: E402
from sync_bench import make_tables, raw_read_both, settings_for  # noqa: E402
from sinc_pipeline.sync.unit import sync_unit  # noqa: E402
from sinc_pipeline.sync.verify import verify_table  # noqa: E402


def sync_then_check(origin_url: str, store_path: str):
    """(sync seconds, check seconds, passed, ranges re-read) in one process, as the asset runs them."""
    st = settings_for(origin_url, Path(store_path), "cursor")
    table = st.units("receive")[0]
    t0 = time.perf_counter()
    r = sync_unit(st, "loja_01", table)[0]
    t1 = time.perf_counter()
    a = verify_table(st, "loja_01", table[0], r.written)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, a.passed, a.detail.get("faixas_relidas"), r.changed


def full_compare(origin_url: str, store_path: str):
    st = settings_for(origin_url, Path(store_path), "cursor")
    a = verify_table(st, "loja_01", st.tables[0])
    return a.passed, a.source_rows


def bench(label: str, origin_url: str, work: Path, rows: int) -> None:
    store0 = work / f"{label}_store0.db"
    make_tables(origin_url, store0, rows)
    _, raw_s, raw_mb = measured(raw_read_both, origin_url, str(store0))
    print(f"{label} | raw read of both tables, ADBC (b) | {raw_s:.2f} s | {raw_mb:.0f} MB")
    store = work / f"{label}_store.db"
    shutil.copy(store0, store)
    for run in ("1% changed", "idle"):
        (sync_s, check_s, ok, reread, changed), total, mb = measured(sync_then_check, origin_url, str(store))
        print(f"{label} | cursor, {run}: sync {sync_s:.2f} s ({changed} rows), check {check_s:.2f} s "
              f"= {check_s / sync_s:.2f}× the sync (passed={ok}, ranges re-read {reread}) | {mb:.0f} MB")
    (ok, n), secs, mb = measured(full_compare, origin_url, str(store))
    print(f"{label} | full comparison (conferir_lojas, one table) | {secs:.2f} s = {secs / raw_s:.2f}× (b) "
          f"(passed={ok}) | {mb:.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--pg", action="store_true")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="check_bench_"))
    try:
        bench("SQLite", f"sqlite:///{work / 'origem.db'}", work, args.rows)
        if args.pg:
            with temp_pg_database() as url:
                bench("PostgreSQL", url, work, args.rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
