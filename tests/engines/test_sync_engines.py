"""One test body over engine pairs: the sync guarantees hold on SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, rows, small_demo, sync_all

PAIRS = [("sqlite", "sqlite"), ("sqlite", "postgresql"), ("postgresql", "sqlite"),
         ("postgresql", "mariadb"), ("mariadb", "postgresql"), ("mariadb", "sqlite")]


@pytest.mark.parametrize("origin,store", PAIRS, ids=[f"{o}-{s}" for o, s in PAIRS])
def test_sync_guarantees(make_db, tmp_path, origin, store):
    st = small_demo(make_db, origin, store, tmp_path)
    o_url, l1 = st.origin.url, st.store("loja_01").url
    other_before = rows(o_url, "SELECT COUNT(*) FROM vendas WHERE loja_id = 2")[0][0]
    local_sales = rows(l1, "SELECT COUNT(*) FROM vendas")[0][0]

    first = sync_all(st, "loja_01")
    assert first["vendas"].inserted == local_sales - int(local_sales * 0.8)
    assert first["produtos"].inserted > 0 and first["produtos"].updated > 0
    for t in st.tables:
        assert verify_table(st, "loja_01", t).passed, t.name
    # rows of another store at the origin are never touched
    assert rows(o_url, "SELECT COUNT(*) FROM vendas WHERE loja_id = 2")[0][0] == other_before

    # idempotent: a second run writes nothing
    again = sync_all(st, "loja_01")
    assert all(r.changed == 0 for r in again.values()), {k: r.as_dict() for k, r in again.items()}

    # exactness: decimals, accents and emoji, NULL, booleans, timestamps
    ts = dt.datetime(2026, 11, 28, 9, 30, 15, 123456)
    execute(o_url, "UPDATE produtos SET preco = :p, descricao = :d, ativo = :a, atualizado_em = :t WHERE id = 1",
            {"p": Decimal("1234567.89"), "d": "Pão de açúcar 🍞 ção", "a": False, "t": ts})
    execute(o_url, "UPDATE produtos SET preco = :p, atualizado_em = :t WHERE id = 2", {"p": Decimal("19.90"), "t": ts})
    execute(o_url, "UPDATE clientes SET email = NULL, nome = :n WHERE id = 3", {"n": "Estêvão Conceição"})
    execute(o_url, "DELETE FROM produtos WHERE id = 5")
    res = sync_all(st, "loja_01", ("receive",))
    assert res["produtos"].updated == 2 and res["produtos"].deleted == 1
    got = rows(l1, "SELECT preco_venda, descricao, ativo, atualizado_em FROM produto WHERE id = 1")[0]
    assert Decimal(str(got[0])) == Decimal("1234567.89") and got[1] == "Pão de açúcar 🍞 ção"
    assert bool(got[2]) is False
    assert (got[3] if isinstance(got[3], dt.datetime) else dt.datetime.fromisoformat(str(got[3]))) == ts
    assert Decimal(str(rows(l1, "SELECT preco_venda FROM produto WHERE id = 2")[0][0])) == Decimal("19.90")
    assert rows(l1, "SELECT email, nome FROM clientes WHERE id = 3")[0] == (None, "Estêvão Conceição")
    assert rows(l1, "SELECT COUNT(*) FROM produto WHERE id = 5")[0][0] == 0

    # send: a new sale with its items and fiscal document reaches the origin; 0.001 kg stays exact
    execute(l1, "INSERT INTO vendas (id, cliente_id, emitida_em, total, status, atualizado_em) "
                "VALUES (900, NULL, :t, :v, 'concluida', :t)", {"t": ts, "v": Decimal("0.02")})
    execute(l1, "INSERT INTO venda_itens (venda_id, item, produto_id, quantidade, preco_unitario, total, atualizado_em) "
                "VALUES (900, 1, 2, :q, :p, :v, :t)", {"q": Decimal("0.001"), "p": Decimal("19.90"), "v": Decimal("0.02"), "t": ts})
    execute(l1, "DELETE FROM vendas WHERE id = 1")  # deletes: ignore for send tables
    res = sync_all(st, "loja_01", ("send",))
    assert res["vendas"].inserted == 1 and res["venda_itens"].inserted == 1 and res["vendas"].deleted == 0
    got = rows(o_url, "SELECT quantidade, loja_id FROM venda_itens WHERE venda_id = 900")
    assert len(got) == 1 and Decimal(str(got[0][0])) == Decimal("0.001") and got[0][1] == 1
    assert rows(o_url, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1 AND id = 1")[0][0] == 1
    assert verify_table(st, "loja_01", st.table("vendas")).passed
    assert rows(o_url, "SELECT COUNT(*) FROM vendas WHERE loja_id = 2")[0][0] == other_before


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_failure_midway_then_rerun_completes(make_db, tmp_path, engine):
    st = small_demo(make_db, engine, engine, tmp_path)
    o_url, l1 = st.origin.url, st.store("loja_01").url
    unit = st.units("send")[0]
    before = {t: rows(o_url, f"SELECT COUNT(*) FROM {t} WHERE loja_id = 1")[0][0]
              for t in ("vendas", "venda_itens", "documentos_fiscais")}

    def hook(op, table, n):
        if table == "venda_itens":
            raise Boom("conexão perdida no meio do apply")

    with pytest.raises(Boom):
        sync_unit(st, "loja_01", unit, hook=hook)
    after_fail = {t: rows(o_url, f"SELECT COUNT(*) FROM {t} WHERE loja_id = 1")[0][0] for t in before}
    assert after_fail == before  # the whole group rolled back, vendas included
    assert rows(o_url, "SELECT COUNT(*) FROM sinc_estado")[0][0] == 0  # cursor not advanced

    results = sync_unit(st, "loja_01", unit)
    for t in before:
        local = rows(l1, f"SELECT COUNT(*) FROM {t}")[0][0]
        assert rows(o_url, f"SELECT COUNT(*) FROM {t} WHERE loja_id = 1")[0][0] == local
    assert sum(r.inserted for r in results) > 0
    assert all(r.changed == 0 for r in sync_unit(st, "loja_01", unit))
