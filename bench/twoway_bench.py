"""Benchmark: a two-way sync (direction: both) against a one-way one on the same table.

SQLite origin and store, one table ``clientes`` of N rows for one store (key [loja_id, id];
the store's copy has no loja_id), both sides equal. Measured, each in a forked child:

* one-way receive (full diff) of the equal table: the reference;
* two-way, first run (no base yet: every row's hashes are written to ``sinc_base``);
* two-way, idle run (base present, nothing changed);
* two-way after 1% of the rows changed at each side (different rows).

Then the same in journal mode (``capture: journal``, triggers installed by ``install_capture``):
one-way receive (triggers at the origin) after 1% changed at the origin and idle, against
two-way (triggers on both sides) after its first full comparison, idle, and after 1% changed at
each side — the sync alone, as the tick calls it.

    .venv/bin/python bench/twoway_bench.py [--rows 1000000] [--skip-diff]
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
from sinc_pipeline.capture.install import install_capture  # noqa: E402
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


def _settings(o_url: str, s_url: str, direction: str, capture: str | None = None):
    table = {"name": "clientes", "direction": direction, "key": ["loja_id", "id"], "scoped": True}
    if capture:
        table["capture"] = capture
    return parse_settings({"origin": {"url": o_url},
                           "stores": [{"id": "loja_01", "url": s_url, "filter": {"loja_id": 1},
                                       "cnpj": "11222333000181"}],
                           "tables": [table]})


def one_way(o_url, s_url, capture=None):
    st = _settings(o_url, s_url, "receive", capture)
    return sum(r.changed for r in sync_direction(st, "loja_01", "receive")[0])


def two_way(o_url, s_url, capture=None):
    st = _settings(o_url, s_url, "both", capture)
    return sync_twoway(st, "loja_01", st.tables[0]).changed


def _edit(url: str, sql: str) -> None:
    with get_engine(url).begin() as c:
        c.execute(sa.text(sql))


def _show(label: str, fn, *args) -> None:
    out, s, mb = measured(fn, *args)
    print(f"{label:52s} {s:7.3f} s  pico {mb:6.0f} MB  gravadas {out}")


def journal(d: str, n: int) -> None:
    step = 100
    o1, s1 = f"sqlite:///{d}/o1.db", f"sqlite:///{d}/s1.db"
    _create(o1, True, n)
    _create(s1, False, n)
    install_capture(_settings(o1, s1, "receive", "journal"))
    print(f"modo journal (capture: journal), {n} linhas")
    _show("mão única, 1ª vez (comparação completa)", one_way, o1, s1, "journal")
    _edit(o1, f"UPDATE clientes SET limite = limite + 1 WHERE id % {step} = 0")
    _show("mão única, 1% alterado na origem", one_way, o1, s1, "journal")
    _show("mão única, ociosa", one_way, o1, s1, "journal")
    o2, s2 = f"sqlite:///{d}/o2.db", f"sqlite:///{d}/s2.db"
    _create(o2, True, n)
    _create(s2, False, n)
    install_capture(_settings(o2, s2, "both", "journal"))
    _show("bidirecional, 1ª vez (comparação completa, base)", two_way, o2, s2, "journal")
    _show("bidirecional, ociosa", two_way, o2, s2, "journal")
    _edit(o2, f"UPDATE clientes SET limite = limite + 1 WHERE id % {step} = 0")
    _edit(s2, f"UPDATE clientes SET fone = 'x' WHERE id % {step} = 1")
    _show("bidirecional, 1% alterado em cada lado", two_way, o2, s2, "journal")
    _show("bidirecional, ociosa depois", two_way, o2, s2, "journal")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-diff", action="store_true")
    args = ap.parse_args()
    n = args.rows
    with tempfile.TemporaryDirectory() as d:
        if not args.skip_diff:
            diff(d, n)
        journal(d, n)


def diff(d: str, n: int) -> None:
    o_url, s_url = f"sqlite:///{d}/o.db", f"sqlite:///{d}/s.db"
    _create(o_url, True, n)
    _create(s_url, False, n)
    print(f"modo diff, clientes: {n} linhas, SQLite ↔ SQLite")
    _show("mão única (receive), tabela igual", one_way, o_url, s_url)
    _show("bidirecional, 1ª vez (grava a base)", two_way, o_url, s_url)
    _show("bidirecional, ociosa", two_way, o_url, s_url)
    _edit(o_url, "UPDATE clientes SET limite = limite + 1 WHERE id % 100 = 0")
    _edit(s_url, "UPDATE clientes SET fone = 'x' WHERE id % 100 = 1")
    _show("bidirecional, 1% alterado em cada lado", two_way, o_url, s_url)


if __name__ == "__main__":
    main()
