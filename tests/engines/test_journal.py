"""Journal mode on every engine, both directions: what the triggers catch, what the sync reads,
no echo, install/remove, and the error when capture is missing."""
from __future__ import annotations

from decimal import Decimal

import pytest

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.install import install_capture
from sinc_pipeline.core.db import connect
from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, rows
from .journal_helpers import PRICES, entries, journal_demo, sync_table

ENGINES = ["sqlite", "postgresql", "mariadb"]


@pytest.fixture(params=ENGINES)
def st(request, make_db, tmp_path):
    return journal_demo(make_db, request.param, request.param, tmp_path)


def _price(url: str, table: str, col: str, pid: int) -> Decimal | None:
    got = rows(url, f"SELECT {col} FROM {table} WHERE id = :i", i=pid)
    return Decimal(str(got[0][0])).quantize(Decimal("0.01")) if got else None


def test_receive_catches_inserts_updates_deletes_and_one_key_costs_one_row(st):
    o, l1 = st.origin.url, st.store("loja_01").url
    first = sync_table(st, "loja_01", "produtos")
    assert first.mode == "journal" and first.compared == 60          # no position yet: compared in full
    assert sync_table(st, "loja_01", "produtos").compared == 0       # idle: nothing read
    for p in ("1.11", "2.22", "3.33"):                               # three changes of one key
        execute(o, "UPDATE produtos SET preco = :p WHERE id = 5", {"p": Decimal(p)})
    execute(o, "DELETE FROM produtos WHERE id = 6")
    execute(o, "INSERT INTO produtos (id, ean, ncm, descricao, unidade, preco, custo, ativo, atualizado_em) "
               "SELECT 900, ean, ncm, 'Novo', unidade, preco, custo, ativo, atualizado_em FROM produtos WHERE id = 7")
    assert len(entries(o, "produtos")) == 5
    r = sync_table(st, "loja_01", "produtos")
    assert (r.compared, r.inserted, r.updated, r.deleted) == (3, 1, 1, 1)   # key 5 read once
    assert _price(l1, "produto", "preco_venda", 5) == Decimal("3.33")
    assert rows(l1, "SELECT COUNT(*) FROM produto WHERE id IN (6, 900)")[0][0] == 1
    assert verify_table(st, "loja_01", st.table("produtos")).passed
    assert sync_table(st, "loja_01", "produtos").changed == 0


def test_send_catches_store_changes_with_composite_keys(st):
    l1, o = st.store("loja_01").url, st.origin.url
    first = sync_table(st, "loja_01", "vendas")
    assert first.mode == "journal"
    execute(l1, "UPDATE vendas SET total = :t WHERE id = 3", {"t": Decimal("99.90")})
    execute(l1, "UPDATE venda_itens SET quantidade = :q WHERE venda_id = 3 AND item = 1", {"q": Decimal("7")})
    execute(l1, "INSERT INTO venda_itens (venda_id, item, produto_id, quantidade, preco_unitario, total, "
                "atualizado_em) SELECT venda_id, 9, produto_id, quantidade, preco_unitario, total, atualizado_em "
                "FROM venda_itens WHERE venda_id = 3 AND item = 1")
    assert {e[1:3] for e in entries(l1, "venda_itens")} == {("3", "1"), ("3", "9")}
    results = {t: sync_table(st, "loja_01", t) for t in ("vendas",)}
    assert results["vendas"].updated == 1
    got = rows(o, "SELECT quantidade FROM venda_itens WHERE loja_id = 1 AND venda_id = 3 ORDER BY item")
    assert [Decimal(str(g[0])) for g in got][0] == Decimal("7") and len(got) >= 2
    assert rows(o, "SELECT COUNT(*) FROM venda_itens WHERE loja_id = 1 AND venda_id = 3 AND item = 9")[0][0] == 1
    # the other store's rows at the origin are untouched, and a second run has nothing to do
    assert all(r.changed == 0 for r in [sync_table(st, "loja_01", "vendas"), sync_table(st, "loja_01", "venda_itens")])
    assert verify_table(st, "loja_01", st.table("venda_itens")).passed


def test_scoped_deletes_and_moves_reach_only_their_store(st):
    o, l1, l2 = st.origin.url, st.store("loja_01").url, st.store("loja_02").url
    for s in ("loja_01", "loja_02"):
        sync_table(st, s, PRICES)
    execute(o, f"DELETE FROM {PRICES} WHERE loja_id = 2 AND produto_id = 4")
    execute(o, f"UPDATE {PRICES} SET preco = 55 WHERE loja_id = 1 AND produto_id = 5")
    execute(o, f"UPDATE {PRICES} SET loja_id = 2, produto_id = 20 WHERE loja_id = 1 AND produto_id = 8")  # a move
    assert ("precos_loja", "2", "4", "2", "D") in entries(o, PRICES)        # OLD's scope recorded
    r1, r2 = sync_table(st, "loja_01", PRICES), sync_table(st, "loja_02", PRICES)
    assert (r1.compared, r1.updated, r1.deleted) == (2, 1, 1)             # its update and the row moved away
    assert (r2.compared, r2.inserted, r2.deleted) == (2, 1, 1)            # its delete and the row moved in
    assert [x[0] for x in rows(l1, f"SELECT produto_id FROM {PRICES} ORDER BY produto_id")] == [1, 2, 3, 4, 5, 6, 7, 9, 10]
    assert [x[0] for x in rows(l2, f"SELECT produto_id FROM {PRICES} ORDER BY produto_id")] == [1, 2, 3, 5, 6, 7, 8, 9,
                                                                                                10, 20]
    for s in ("loja_01", "loja_02"):
        assert verify_table(st, s, st.table(PRICES)).passed


def test_no_echo_the_syncs_own_writes_are_not_captured(st):
    """Capture installed on the target table too (as a two-way table would have it): what the
    sync writes there is not recorded, what anyone else writes is."""
    l1 = st.store("loja_01").url
    engine = q.engine_family(st.store("loja_01").url.split(":")[0].split("+")[0])
    with connect(l1, "loja", write=True) as c:
        for stmt in q.trigger_sql(engine, "produto", ["id"]):
            c.exec_driver_sql(stmt)
    sync_table(st, "loja_01", "produtos")                                 # full compare: writes 6 rows
    execute(st.origin.url, "UPDATE produtos SET preco = 4.44 WHERE id = 9")
    assert sync_table(st, "loja_01", "produtos").updated == 1
    assert entries(l1, "produto") == []
    execute(l1, "UPDATE produto SET preco_venda = 1 WHERE id = 10")        # positive control: captured
    assert entries(l1, "produto") == [("produto", "10", None, None, "U")]
    # and a session that ran a sync does not keep the flag (MariaDB's session variable is reset)
    execute(l1, "UPDATE produto SET preco_venda = 2 WHERE id = 11")
    assert len(entries(l1, "produto")) == 2


def test_install_is_idempotent_and_remove_gives_a_clear_error(st):
    o = st.origin.url
    execute(o, "UPDATE produtos SET preco = 1 WHERE id = 2")
    before = entries(o)
    horizon = rows(o, f"SELECT horizonte FROM {q.HORIZON}")
    again = install_capture(st)
    assert all(r.acao == "gatilhos instalados" for r in again)           # nothing created twice
    assert entries(o) == before and rows(o, f"SELECT horizonte FROM {q.HORIZON}") == horizon
    execute(o, "UPDATE produtos SET preco = 2 WHERE id = 2")
    assert len(entries(o)) == len(before) + 1                             # one trigger, one entry
    removed = install_capture(st, remove=True)
    assert {r.acao for r in removed} >= {"gatilhos removidos", "removida"}
    execute(o, "UPDATE produtos SET preco = 3 WHERE id = 2")              # the table still works
    with pytest.raises(SchemaError) as err:
        sync_table(st, "loja_01", "produtos")
    e = err.value
    assert "não instalada" in e.what and "produtos" in e.where and "instalar_captura" in e.hint
    assert "instalar-captura" in e.hint
    install_capture(st)                                                   # reinstalled: compared in full once
    assert sync_table(st, "loja_01", "produtos").compared == 60
    assert sync_table(st, "loja_01", "produtos").compared == 0


def test_missing_capture_names_the_command(make_db, tmp_path):
    st = journal_demo(make_db, "sqlite", "sqlite", tmp_path, install=False)
    with pytest.raises(SchemaError) as err:
        sync_table(st, "loja_01", "produtos")
    assert "sinc_alteracoes" in err.value.what and "instalar_captura" in err.value.hint
