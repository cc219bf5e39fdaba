"""A store's backlog goes in batches: each batch is one transaction with its cursors, so memory
stays bounded, a crash keeps the batches before it, and every sale arrives with its items."""
from __future__ import annotations

import pytest

from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import verify_table

from ..helpers import rows, small_demo

TABLES = ("vendas", "venda_itens", "documentos_fiscais")


class Crash(RuntimeError):
    pass


def _at_origin(url: str) -> dict:
    return {t: rows(url, f"SELECT COUNT(*) FROM {t} WHERE loja_id = 1")[0][0] for t in TABLES}


def _items_per_sale(url: str, where: str = "") -> dict:
    return dict(rows(url, f"SELECT venda_id, COUNT(*) FROM venda_itens {where} GROUP BY venda_id"))


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_backlog_in_batches_crash_keeps_earlier_batches_then_completes(make_db, tmp_path, engine):
    st = small_demo(make_db, engine, "sqlite", tmp_path, products=60, customers=20, sales_per_store=400)
    st = st.model_copy(update={"batch_rows": 100})
    o_url, l1 = st.origin.url, st.store("loja_01").url
    unit = st.units("send")[0]
    before = _at_origin(o_url)
    local = {t: rows(l1, f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES}
    assert local["venda_itens"] > 300                    # several batches' worth of each table
    writes = []

    def crash_in_third_batch(op, table, n):
        writes.append(table)
        if writes.count("vendas") == 3:
            raise Crash("queda no meio do terceiro lote")

    with pytest.raises(Crash):
        sync_unit(st, "loja_01", unit, hook=crash_in_third_batch)
    kept = _at_origin(o_url)
    assert before["vendas"] < kept["vendas"] < local["vendas"]     # two batches committed, not the third
    sent = _items_per_sale(o_url, "WHERE loja_id = 1")
    store_items = _items_per_sale(l1)
    assert sent and all(store_items[v] == n for v, n in sent.items())   # no sale without all its items
    sales_sent = {r[0] for r in rows(o_url, "SELECT id FROM vendas WHERE loja_id = 1")}
    assert set(sent) <= sales_sent

    results = sync_unit(st, "loja_01", unit)              # simply run again: the rest, nothing twice
    by = {r.table: r for r in results}
    assert by["vendas"].inserted == local["vendas"] - kept["vendas"]
    assert _at_origin(o_url) == local
    for t in TABLES:
        assert verify_table(st, "loja_01", st.table(t)).passed, t
    assert all(r.changed == 0 for r in sync_unit(st, "loja_01", unit))


def test_batched_and_unbatched_send_the_same(make_db, tmp_path):
    a = small_demo(make_db, "sqlite", "sqlite", tmp_path / "a", products=60, customers=20, sales_per_store=300)
    b = small_demo(make_db, "sqlite", "sqlite", tmp_path / "b", products=60, customers=20, sales_per_store=300)
    b = b.model_copy(update={"batch_rows": 100})
    res = {}
    for st in (a, b):
        res[st.batch_rows] = {r.table: (r.inserted, r.updated, r.deleted)
                              for r in sync_unit(st, "loja_01", st.units("send")[0])}
    assert res[a.batch_rows] == res[100] and res[100]["vendas"][0] > 0
    for t in TABLES:
        order = "venda_id, item" if t == "venda_itens" else "id"
        sql = f"SELECT * FROM {t} WHERE loja_id = 1 ORDER BY {order}"
        assert rows(a.origin.url, sql) == rows(b.origin.url, sql), t
