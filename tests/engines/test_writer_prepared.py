"""SQLite writes run as ``writer.Prepared`` (driver executemany with tuples, SQLAlchemy's bind
processors a column at a time): the same stored values as SQLAlchemy's own executemany."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import connect
from sinc_pipeline.io import writer
from sinc_pipeline.io.isolate import apply_isolating
from sinc_pipeline.io.writer import Target, apply
from sinc_pipeline.sync.diff import Changes

from ..helpers import execute, rows

DDL = ("CREATE TABLE p (id INTEGER PRIMARY KEY, loja TEXT NOT NULL, preco NUMERIC(12, 2), quando DATETIME, "
       "dia DATE, ativo BOOLEAN, nome VARCHAR(20) CHECK (nome <> 'ruim'))")
SCHEMA = pa.schema([("id", pa.int64()), ("valor", pa.decimal128(12, 2)), ("quando", pa.timestamp("us")),
                    ("dia", pa.date32()), ("ativo", pa.bool_()), ("nome", pa.string())])


def _changes(n: int, bad: set[int] = frozenset()) -> Changes:
    ids = list(range(1, n + 1))
    ins = pa.table({"id": ids, "valor": [D(i) / 100 for i in ids],
                    "quando": [dt.datetime(2026, 11, 28, 10, 0, 0, i) for i in ids],
                    "dia": [dt.date(2026, 1, 1 + i % 28) for i in ids], "ativo": [i % 2 == 0 for i in ids],
                    "nome": ["ruim" if i in bad else (None if i % 5 == 0 else f"produto {i}") for i in ids]},
                   schema=SCHEMA)
    upd = ins.slice(0, 3).set_column(1, "valor", pa.array([D("9.99")] * 3, pa.decimal128(12, 2)))
    return Changes(ins, upd.slice(0, 0), ins.slice(0, 0).select(["id"])), upd


def _write(url: str, prepared: bool, monkeypatch, bad=frozenset()) -> tuple:
    if not prepared:
        monkeypatch.setattr(writer, "prepare", lambda *a: None)
    execute(url, DDL)
    with connect(url, "teste", write=True) as conn:
        table = sa.Table("p", sa.MetaData(), autoload_with=conn)
        phys = {"id": "id", "valor": "preco", "quando": "quando", "dia": "dia", "ativo": "ativo", "nome": "nome"}
        t = Target(table, phys, ["id"], {"loja": "L1"}, {"loja": "L1"})
        ins, upd = _changes(40, bad)
        counts, refused = apply_isolating(conn, [(t, ins)])
        apply(conn, [(t, Changes(ins.inserts.slice(0, 0), upd, ins.inserts.slice(0, 0).select(["id"])))])
        apply(conn, [(t, Changes(ins.inserts.slice(0, 0), upd.slice(0, 0), ins.inserts.slice(5, 2).select(["id"])))])
    return rows(url, "SELECT id, loja, preco, typeof(preco), quando, dia, ativo, nome FROM p ORDER BY id"), \
        counts, [r.row["id"] for r in refused]


@pytest.mark.parametrize("bad", [frozenset(), frozenset({7, 30})], ids=["clean", "refused-rows"])
def test_prepared_writes_store_what_sqlalchemy_stores(make_db, monkeypatch, bad):
    calls = []
    real = writer.run_batch
    monkeypatch.setattr(writer, "run_batch", lambda c, s, p: calls.append(type(s).__name__) or real(c, s, p))
    fast, fast_counts, fast_refused = _write(make_db("sqlite"), True, monkeypatch, bad)
    assert calls and set(calls) == {"Prepared"}
    slow, slow_counts, slow_refused = _write(make_db("sqlite"), False, monkeypatch, bad)
    assert fast == slow and fast_counts == slow_counts and fast_refused == slow_refused == sorted(bad)
    assert len(fast) == 40 - len(bad) - 2 + (1 if 6 in bad or 7 in bad else 0)
    first = fast[0]
    assert first[1] == "L1" and first[2] == 9.99 and first[4] == "2026-11-28 10:00:00.000001" and first[6] == 0
