"""Benchmark: what change capture costs the store that makes the changes (journal mode, send).

A POS writes a sale with three items in one transaction (BEGIN; 1 INSERT into vendas; 3 INSERTs
into venda_itens; COMMIT) on a SQLite store (WAL, as sinc_pipeline opens it, synchronous as
SQLite's default), N times, with Python's sqlite3 as a POS would. Measured twice in the same
run, on two fresh files: without capture, and with the capture triggers of ``capture/sql.py``
on both tables (each row also writes one entry into ``sinc_alteracoes``). Best of 3 runs each.

    .venv/bin/python bench/capture_bench.py [--n 2000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sinc_pipeline.capture import sql as q  # noqa: E402
from sinc_pipeline.demo.schema import store_metadata  # noqa: E402


def _database(path: Path, capture: bool) -> None:
    eng = sa.create_engine(f"sqlite:///{path}")
    md = store_metadata()
    md.create_all(eng, tables=[md.tables["vendas"], md.tables["venda_itens"]])
    eng.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    if capture:
        for stmt in q.change_table_sql("sqlite", 1):
            con.execute(stmt)
        for stmt in q.trigger_sql("sqlite", "vendas", ["id"]) + q.trigger_sql("sqlite", "venda_itens",
                                                                               ["venda_id", "item"]):
            con.execute(stmt)
    con.close()


def _sales(path: Path, n: int) -> float:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    t = dt.datetime(2026, 11, 28, 10, 0, 0).isoformat(sep=" ")
    start = time.perf_counter()
    for vid in range(1, n + 1):
        con.execute("BEGIN")
        con.execute("INSERT INTO vendas (id, cliente_id, emitida_em, total, status, atualizado_em) "
                    "VALUES (?, NULL, ?, '30.00', 'concluida', ?)", (vid, t, t))
        for item in (1, 2, 3):
            con.execute("INSERT INTO venda_itens (venda_id, item, produto_id, quantidade, preco_unitario, total, "
                        "atualizado_em) VALUES (?, ?, ?, '1.000', '10.00', '10.00', ?)", (vid, item, item, t))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def measure(n: int, capture: bool, folder: Path, runs: int = 3) -> float:
    best = None
    for r in range(runs):
        path = folder / f"loja_{'com' if capture else 'sem'}_{r}.db"
        _database(path, capture)
        s = _sales(path, n)
        if capture:
            entries = sqlite3.connect(path).execute(f"SELECT COUNT(*) FROM {q.CHANGES}").fetchone()[0]
            assert entries == 4 * n, entries
        best = s if best is None else min(best, s)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        without = measure(args.n, False, folder)
        with_ = measure(args.n, True, folder)
    per = 1000 / args.n
    print(f"{args.n} vendas (1 venda + 3 itens por transação), SQLite WAL, melhor de 3:")
    print(f"  sem captura: {without:.3f} s ({without * per:.3f} ms por venda)")
    print(f"  com captura: {with_:.3f} s ({with_ * per:.3f} ms por venda; 4 entradas em {q.CHANGES})")
    print(f"  razão: {with_ / without:.2f}× (+{(with_ - without) * per:.3f} ms por venda)")


if __name__ == "__main__":
    main()
