"""Benchmark: a two-way sync (direction: both) against a one-way one on the same table.

SQLite origin and store, one table ``clientes`` of N rows for one store (key [loja_id, id];
the store's copy has no loja_id), both sides equal. Measured, each in a forked child:

* one-way receive (full diff) of the equal table: the reference;
* two-way, first run (no base yet: every row's hashes are written to ``sinc_base``);
* two-way, idle run (base present, nothing changed);
* two-way after 1% of the rows changed at each side (different rows).

    .venv/bin/python bench/twoway_bench.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import measured  # noqa: E402
from sinc_pipeline.core.db import get_engine  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.settings import parse_settings  # noqa: E402
from sinc_pipeline.sync.direction import sync_direction  # noqa: E402
from sinc_pipeline.twoway.sync import sync_twoway  # noqa: E402


def _create(url: str, origin: bool, n: int) -> None:
    meta = sa.MetaData()
    cols = [sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False)] if origin else []
    sa.Table("clientes", meta, *cols, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("nome", sa.String(40)), sa.Column("fone", sa.String(20)), sa.Column("limite", sa.Integer),
             sa.Column("alterado", sa.Integer))
    data = {"id": pa.array(range(n)), "nome": pa.array([f"cliente {i}" for i in range(n)]),
            "fone": pa.array([str(1000 + i % 9000) for i in range(n)]), "limite": pa.array([i % 500 for i in range(n)]),
            "alterado": pa.array([0] * n)}
    if origin:
        data = {"loja_id": pa.array([1] * n), **data}
    with get_engine(url).begin() as c:
        meta.create_all(c)
        bulk_insert(c, "clientes", pa.table(data))


def _settings(o_url: str, s_url: str, direction: str):
    return parse_settings({"origin": {"url": o_url},
                           "stores": [{"id": "loja_01", "url": s_url, "filter": {"loja_id": 1},
                                       "cnpj": "11222333000181"}],
                           "tables": [{"name": "clientes", "direction": direction, "key": ["loja_id", "id"],
                                       "scoped": True}]})


def one_way(o_url, s_url):
    return sum(r.changed for r in sync_direction(_settings(o_url, s_url, "receive"), "loja_01", "receive")[0])


def two_way(o_url, s_url):
    st = _settings(o_url, s_url, "both")
    return sync_twoway(st, "loja_01", st.tables[0]).changed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    n = ap.parse_args().rows
    with tempfile.TemporaryDirectory() as d:
        o_url, s_url = f"sqlite:///{d}/o.db", f"sqlite:///{d}/s.db"
        _create(o_url, True, n)
        _create(s_url, False, n)
        print(f"clientes: {n} linhas, SQLite ↔ SQLite")
        for label, fn in (("mão única (receive), tabela igual", one_way), ("bidirecional, 1ª vez (grava a base)", two_way),
                          ("bidirecional, ociosa", two_way)):
            out, s, mb = measured(fn, o_url, s_url)
            print(f"{label:45s} {s:7.2f} s  pico {mb:6.0f} MB  gravadas {out}")
        step = 100
        with get_engine(o_url).begin() as c:
            c.execute(sa.text(f"UPDATE clientes SET limite = limite + 1 WHERE id % {step} = 0"))
        with get_engine(s_url).begin() as c:
            c.execute(sa.text(f"UPDATE clientes SET fone = 'x' WHERE id % {step} = 1"))
        out, s, mb = measured(two_way, o_url, s_url)
        print(f"{'bidirecional, 1% alterado em cada lado':45s} {s:7.2f} s  pico {mb:6.0f} MB  gravadas {out}")


if __name__ == "__main__":
    main()
