"""Criar Base da Loja on real databases: a new store's database from the origin, after which a
full sync (send, then receive) finds nothing to do; a store that already has data is refused."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from sinc_pipeline.provisioning.store_database import create_store_database
from sinc_pipeline.core.db import connect, get_engine
from sinc_pipeline.core.errors import DataError, SchemaError
from sinc_pipeline.sync.state import get_cursor

from ..helpers import execute, rows, small_demo, sync_all

NEW = "loja_02"


def with_new_store(settings, url):
    stores = [s if s.id != NEW else s.model_copy(update={"url": url}) for s in settings.stores]
    return settings.model_copy(update={"stores": stores})


def columns(url: str, table: str) -> list[str]:
    with get_engine(url).connect() as c:
        return [col["name"] for col in sa.inspect(c).get_columns(table)]


def primary_key(url: str, table: str) -> list[str]:
    with get_engine(url).connect() as c:
        return sa.inspect(c).get_pk_constraint(table)["constrained_columns"]


@pytest.mark.parametrize("origin_engine,store_engine", [
    ("sqlite", "sqlite"), ("sqlite", "postgresql"), ("postgresql", "mariadb"), ("mariadb", "sqlite")])
def test_new_store_then_full_sync_finds_nothing_to_do(make_db, tmp_path, origin_engine, store_engine):
    demo = small_demo(make_db, origin_engine, store_engine, tmp_path)
    sync_all(demo, NEW)                              # the origin holds loja_02's sales too
    st = with_new_store(demo, make_db(store_engine))
    url, origin = st.store(NEW).url, st.origin.url
    res = create_store_database(st, NEW)

    assert sorted(res.created) == sorted(t.target_name for t in st.tables)
    # mapped: store names, excluded columns left out, the filter column dropped
    assert "preco_venda" in columns(url, "produto") and "custo" not in columns(url, "produto")
    assert "loja_id" not in columns(url, "vendas") and primary_key(url, "vendas") == ["id"]
    assert sorted(primary_key(url, "venda_itens")) == ["item", "venda_id"]
    # only the store's rows of scoped tables, every row of the others
    assert res.tables["vendas"] == rows(origin, "SELECT COUNT(*) FROM vendas WHERE loja_id = 2")[0][0] > 0
    assert res.tables["produto"] == rows(origin, "SELECT COUNT(*) FROM produtos")[0][0]
    price = rows(url, "SELECT preco_venda FROM produto WHERE id = 7")[0][0]
    assert Decimal(str(price)) == Decimal(str(rows(origin, "SELECT preco FROM produtos WHERE id = 7")[0][0]))
    # cursors: receive in the store's database, send in the origin's
    with connect(url, "teste") as s, connect(origin, "teste") as o:
        assert get_cursor(s, NEW, "produtos", "receive") is not None
        assert get_cursor(o, NEW, "vendas", "send") is not None
        assert get_cursor(s, NEW, "vendas", "send") is None

    results = sync_all(st, NEW)
    assert set(results) == {t.name for t in st.tables}
    changed = {name: (r.inserted, r.updated, r.deleted) for name, r in results.items() if r.changed}
    assert changed == {}


def test_a_store_database_with_data_is_refused_naming_the_table(make_db, tmp_path):
    demo = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    url = make_db("sqlite")
    execute(url, "CREATE TABLE clientes (id INTEGER PRIMARY KEY, nome TEXT)")
    execute(url, "INSERT INTO clientes (id, nome) VALUES (1, 'Já existe')")
    st = with_new_store(demo, url)
    with pytest.raises(DataError) as err:
        create_store_database(st, NEW)
    msg = str(err.value)
    assert "'clientes' tem 1 linha(s)" in msg and NEW in msg and "forcar_atualizacao" in msg
    with get_engine(url).connect() as c:
        assert sa.inspect(c).get_table_names() == ["clientes"]      # nothing was written


def test_an_existing_empty_table_is_used_if_it_has_the_columns(make_db, tmp_path):
    demo = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    url = make_db("sqlite")
    # an empty vendas that keeps the filter column: then loja_id is kept and filled
    execute(url, "CREATE TABLE vendas (loja_id INTEGER, id INTEGER, cliente_id INTEGER, emitida_em DATETIME, "
                 "total NUMERIC(12, 2), status TEXT, atualizado_em DATETIME, PRIMARY KEY (loja_id, id))")
    st = with_new_store(demo, url)
    res = create_store_database(st, NEW)
    assert "vendas" not in res.created
    assert rows(url, "SELECT DISTINCT loja_id FROM vendas") == [(2,)]
    assert {r.table: r.changed for r in sync_all(st, NEW).values()} == {t.name: 0 for t in st.tables}


def test_an_existing_empty_table_missing_a_column_is_named(make_db, tmp_path):
    demo = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    url = make_db("sqlite")
    execute(url, "CREATE TABLE clientes (id INTEGER PRIMARY KEY, nome TEXT)")
    with pytest.raises(SchemaError, match=r"'clientes'.*'cpf_cnpj'"):
        create_store_database(with_new_store(demo, url), NEW)
