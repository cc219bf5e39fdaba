"""Cursor mode: late commits inside the lookback window, NULL cursors, deletes, crash safety."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sinc_pipeline.sync.state import get_cursor
from sinc_pipeline.core.db import connect, dialect_name
from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, rows, small_demo


# (origin, store): every engine on each side at least once
PAIRS = [("sqlite", "sqlite"), ("sqlite", "postgresql"), ("postgresql", "mariadb"), ("mariadb", "sqlite")]


@pytest.fixture(params=PAIRS, ids=[f"{o}-{s}" for o, s in PAIRS])
def demo(request, make_db, tmp_path):
    origin, store = request.param
    st = small_demo(make_db, origin, store, tmp_path)
    backend = {"sqlite": "sqlite", "postgresql": "postgresql", "mariadb": "mysql"}   # as SQLAlchemy names them
    assert (dialect_name(st.origin.url), dialect_name(st.store("loja_01").url)) == (backend[origin], backend[store])
    return st


def produtos(st):
    return st.units("receive")[1]  # lojas, produtos, clientes


def test_cursor_catches_late_rows_nulls_and_deletes(demo):
    st = demo
    unit = produtos(st)
    assert unit[0].name == "produtos" and unit[0].cursor == "atualizado_em"
    sync_unit(st, "loja_01", unit)
    with connect(st.store("loja_01").url, "loja") as c:
        pos = get_cursor(c, "loja_01", "produtos", "receive")
    assert isinstance(pos, dt.datetime)
    o = st.origin.url
    # committed late, with a cursor value older than the saved position but inside the window
    execute(o, "UPDATE produtos SET preco = :p, atualizado_em = :t WHERE id = 10",
            {"p": Decimal("7.77"), "t": pos - dt.timedelta(seconds=120)})
    # a row whose cursor is NULL
    execute(o, "UPDATE produtos SET descricao = 'Sem data', atualizado_em = NULL WHERE id = 11")
    # a delete (single integer key: detected by key aggregates)
    execute(o, "DELETE FROM produtos WHERE id = 12")
    r = sync_unit(st, "loja_01", unit)[0]
    assert (r.updated, r.deleted) == (2, 1)
    assert Decimal(str(rows(st.store("loja_01").url, "SELECT preco_venda FROM produto WHERE id = 10")[0][0])) == Decimal("7.77")
    assert rows(st.store("loja_01").url, "SELECT descricao FROM produto WHERE id = 11")[0][0] == "Sem data"
    assert verify_table(st, "loja_01", unit[0]).passed
    # outside the window: not re-read (that is what the window is for), but reported honestly
    again = sync_unit(st, "loja_01", unit)[0]
    assert again.changed == 0


def test_cursor_deletes_with_a_key_swap_fall_back_to_full_key_compare(demo):
    st = demo
    unit = produtos(st)
    sync_unit(st, "loja_01", unit)
    o = st.origin.url
    old = dt.datetime(2020, 1, 1)
    # delete id 20 and insert id 20+? with an OLD cursor: count stays, sum changes -> full compare
    execute(o, "DELETE FROM produtos WHERE id = 20")
    execute(o, "UPDATE produtos SET id = 1000, atualizado_em = :t WHERE id = 21", {"t": old})
    r = sync_unit(st, "loja_01", unit)[0]
    assert r.deleted == 2  # 20 and 21 gone at the store; 1000 is outside the window (old cursor)
    assert rows(st.store("loja_01").url, "SELECT COUNT(*) FROM produto WHERE id IN (20, 21)")[0][0] == 0


def test_send_cursor_survives_crash_and_composite_keys(demo):
    st = demo
    unit = st.units("send")[0]
    sync_unit(st, "loja_01", unit)
    l1, o = st.store("loja_01").url, st.origin.url
    t = dt.datetime(2026, 11, 28, 10, 0, 0)
    for vid in (501, 502):
        execute(l1, "INSERT INTO vendas (id, cliente_id, emitida_em, total, status, atualizado_em) "
                    "VALUES (:i, NULL, :t, :v, 'concluida', :t)", {"i": vid, "t": t, "v": Decimal("10.00")})
        execute(l1, "INSERT INTO venda_itens (venda_id, item, produto_id, quantidade, preco_unitario, total, atualizado_em) "
                    "VALUES (:i, 1, 1, :q, :p, :v, :t)", {"i": vid, "t": t, "q": Decimal("1.000"), "p": Decimal("10.00"),
                                                       "v": Decimal("10.00")})

    def boom(op, table, n):
        raise RuntimeError("processo morto")

    with pytest.raises(RuntimeError):
        sync_unit(st, "loja_01", unit, hook=boom)
    assert rows(o, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1 AND id IN (501, 502)")[0][0] == 0
    res = {r.table: r for r in sync_unit(st, "loja_01", unit)}
    assert res["vendas"].inserted == 2 and res["venda_itens"].inserted == 2
    assert rows(o, "SELECT COUNT(*) FROM venda_itens WHERE loja_id = 1 AND venda_id IN (501, 502)")[0][0] == 2
    assert all(r.changed == 0 for r in sync_unit(st, "loja_01", unit))


def test_large_tables_are_compared_in_key_ranges(make_db, tmp_path):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    st = st.model_copy(update={"diff_chunk_rows": 1000})
    from sinc_pipeline.sync.sides import key_ranges, sides_for
    from sinc_pipeline.core.db import connect
    from sinc_pipeline.core.layout import resolve_plan
    store = st.store("loja_01")
    with connect(st.origin.url, "o") as o, connect(store.url, "l") as s:
        plan = resolve_plan(st.table("clientes"), store, o, st.origin.url, s, store.url)
        src, tgt = sides_for(plan, "receive", o, s, 100)
        assert key_ranges(src, tgt, 1000) == ("id", None)
        col, ranges = key_ranges(src, tgt, 5)
        # open at both ends, so every row of either side is in exactly one range
        assert col == "id" and ranges == [(None, 9), (9, 17), (17, None)]
    # the ranged comparison finds exactly what the single one does
    execute(st.origin.url, "DELETE FROM clientes WHERE id IN (1, 20)")
    execute(st.origin.url, "UPDATE clientes SET nome = 'Ângela' WHERE id = 9")
    st_small = st.model_copy(update={"diff_chunk_rows": 5})  # 3 key ranges
    unit = st.units("receive")[2]
    assert unit[0].name == "clientes"
    r = sync_unit(st_small, "loja_01", unit)[0]
    # loja_01's customers are the odd ids; the store held 1..17 and its own 21, 23 (not at HQ):
    # 19 is inserted, 9 updated, 1, 21 and 23 deleted (20 is loja_02's); HQ now has 3..19
    assert (r.inserted, r.updated, r.deleted) == (1, 1, 3) and r.compared == 9
    assert verify_table(st, "loja_01", unit[0]).passed


def test_verification_in_key_ranges_agrees_and_catches_a_cent(make_db, tmp_path):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path).model_copy(update={"diff_chunk_rows": 5})
    clientes = st.table("clientes")
    sync_unit(st, "loja_01", st.units("receive")[2])
    whole = verify_table(st.model_copy(update={"diff_chunk_rows": 10_000}), "loja_01", clientes)
    ranged = verify_table(st, "loja_01", clientes)
    assert ranged.passed and whole.passed
    assert (ranged.source_rows, ranged.source_checksum) == (whole.source_rows, whole.source_checksum)
    execute(st.store("loja_01").url, "UPDATE clientes SET limite_credito = limite_credito + 0.01 WHERE id = 17")
    assert not verify_table(st, "loja_01", clientes).passed
