"""Values never change silently on the way: lossy type pairings are refused before anything is
written, rounding is opt-in and then settles, a value the target cannot hold names its place,
and filter values must fit their column (issue #12)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.sync.held_store import held_entries
from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, rows

PAIRS = [("sqlite", "postgresql"), ("postgresql", "mariadb"), ("mariadb", "sqlite")]
CNPJ = "11222333000181"


def settings(origin: str, store: str, **table) -> object:
    return parse_settings({
        "origin": {"url": origin},
        "stores": [{"id": "loja_01", "url": store, "filter": {"loja_id": 1}, "cnpj": CNPJ}],
        "tables": [{"name": "precos", "direction": "receive", "key": ["id"], **table}],
    })


def tables(origin: str, store: str, origin_type: str, store_type: str) -> None:
    execute(origin, f"CREATE TABLE precos (id INTEGER NOT NULL PRIMARY KEY, valor {origin_type})")
    execute(store, f"CREATE TABLE precos (id INTEGER NOT NULL PRIMARY KEY, valor {store_type})")


@pytest.mark.parametrize("origin_engine, store_engine", PAIRS)
def test_fewer_decimal_places_refused_then_rounding_settles(make_db, origin_engine, store_engine):
    origin, store = make_db(origin_engine), make_db(store_engine)
    tables(origin, store, "NUMERIC(12,4)", "NUMERIC(10,2)")
    execute(origin, "INSERT INTO precos VALUES (1, 0.0010), (2, 19.9050), (3, -2.0050), (4, NULL)")
    st = settings(origin, store)
    with pytest.raises(SchemaError) as err:
        sync_unit(st, "loja_01", st.units("receive")[0])
    msg = str(err.value)
    for part in ("'precos'", "loja_01", "'valor'", "(12, 4)", "(10, 2)", "allow_rounding", "nada foi gravado"):
        assert part in msg, (part, msg)
    assert rows(store, "SELECT COUNT(*) FROM precos") == [(0,)]

    st = settings(origin, store, allow_rounding=True)
    first = sync_unit(st, "loja_01", st.units("receive")[0])[0]
    assert first.inserted == 4
    got = {i: (None if v is None else Decimal(str(v)).quantize(Decimal("0.01")))
           for i, v in rows(store, "SELECT id, valor FROM precos")}
    assert got == {1: Decimal("0.00"), 2: Decimal("19.91"), 3: Decimal("-2.01"), 4: None}
    second = sync_unit(st, "loja_01", st.units("receive")[0])[0]
    assert second.changed == 0                      # compared as the store holds them: settled
    assert verify_table(st, "loja_01", st.tables[0]).passed


@pytest.mark.parametrize("origin_engine, store_engine", PAIRS)
def test_text_into_a_number_column_is_refused_even_with_rounding(make_db, origin_engine, store_engine):
    origin, store = make_db(origin_engine), make_db(store_engine)
    tables(origin, store, "VARCHAR(10)", "INTEGER")
    execute(origin, "INSERT INTO precos VALUES (1, '00037')")
    for extra in ({}, {"allow_rounding": True}):
        st = settings(origin, store, **extra)
        with pytest.raises(SchemaError, match=r"(?s)'valor'.*VARCHAR\(10\).*INTEGER.*'00037' viraria 37"):
            sync_unit(st, "loja_01", st.units("receive")[0])
    assert rows(store, "SELECT COUNT(*) FROM precos") == [(0,)]


@pytest.mark.parametrize("origin_engine, store_engine", [("sqlite", "postgresql"), ("sqlite", "mariadb")])
def test_a_value_the_store_cannot_hold_is_held_naming_table_column_and_key(make_db, origin_engine, store_engine):
    """Known before writing (core.compat.misfits): those rows are held (sinc_erros), the rest arrives."""
    origin, store = make_db(origin_engine), make_db(store_engine)
    execute(origin, "CREATE TABLE precos (id INTEGER NOT NULL PRIMARY KEY, valor NUMERIC(12,2), nome VARCHAR(200))")
    execute(store, "CREATE TABLE precos (id INTEGER NOT NULL PRIMARY KEY, valor NUMERIC(6,2), nome VARCHAR(10))")
    execute(origin, "INSERT INTO precos VALUES (1, 10.00, 'ok'), (7, 123456.78, 'ok'), (8, 1.00, 'um nome longo demais')")
    st = settings(origin, store)
    r = sync_unit(st, "loja_01", st.units("receive")[0])[0]
    assert (r.inserted, r.held) == (1, 2)
    assert rows(store, "SELECT id FROM precos") == [(1,)]
    got = {e["chave"]: e for e in held_entries(st, "loja_01", "receive", "precos")}
    assert set(got) == {'{"id": 7}', '{"id": 8}'}
    assert (got['{"id": 7}']["coluna"], got['{"id": 7}']["valor"]) == ("valor", "123456.78")
    assert "'valor'" in got['{"id": 7}']["mensagem"] and "(6, 2)" in got['{"id": 7}']["mensagem"]
    assert (got['{"id": 8}']["coluna"], got['{"id": 8}']["valor"]) == ("nome", "um nome longo demais")
    assert "'nome'" in got['{"id": 8}']["mensagem"] and "VARCHAR(10)" in got['{"id": 8}']["mensagem"]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_filter_values_are_checked_against_the_column_type(make_db, engine):
    origin, store = make_db(engine), make_db("sqlite")
    ddl = "CREATE TABLE vendas (loja_id INTEGER NOT NULL, id INTEGER NOT NULL, total NUMERIC(12,2), PRIMARY KEY (loja_id, id))"
    execute(origin, ddl)
    execute(store, ddl)
    execute(store, "INSERT INTO vendas VALUES (1, 1, 10.00)")
    st = parse_settings({
        "origin": {"url": origin},
        "stores": [{"id": "loja_01", "url": store, "filter": {"loja_id": "1 OR 1=1"}, "cnpj": CNPJ}],
        "tables": [{"name": "vendas", "direction": "send", "key": ["loja_id", "id"], "scoped": True}],
    })
    with pytest.raises(SchemaError, match=r"(?s)filter\.loja_id: valor '1 OR 1=1'.*'loja_id'.*INTEGER"):
        sync_unit(st, "loja_01", st.units("send")[0])
    assert rows(origin, "SELECT COUNT(*) FROM vendas") == [(0,)]
