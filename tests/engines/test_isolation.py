"""A store can never touch another store's rows at the origin, whatever it sends or lacks."""
from __future__ import annotations

from decimal import Decimal

import pytest

from sinc_pipeline.settings import parse_settings
from sinc_pipeline.sync.unit import sync_unit

from ..helpers import execute, rows


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_send_with_filter_column_at_store_only_writes_own_rows(make_db, tmp_path, engine):
    origin, store = make_db(engine), make_db("sqlite")
    ddl = "CREATE TABLE movimentos (loja_id INTEGER NOT NULL, id INTEGER NOT NULL, valor NUMERIC(12,2), PRIMARY KEY (loja_id, id))"
    execute(origin, ddl)
    execute(store, ddl)
    # the origin holds rows of stores 1 and 2
    execute(origin, "INSERT INTO movimentos VALUES (1, 1, 10.00), (1, 2, 20.00), (2, 1, 99.00), (2, 7, 70.00)")
    # the store holds its own rows, a changed one, a new one, and (wrongly) rows labelled as store 2
    execute(store, "INSERT INTO movimentos VALUES (1, 1, 10.50), (1, 3, 30.00), (2, 1, 0.01), (2, 8, 80.00)")
    st = parse_settings({
        "origin": {"url": origin},
        "stores": [{"id": "loja_01", "url": store, "filter": {"loja_id": 1}, "cnpj": "11222333000181"},
                   {"id": "loja_02", "url": make_db("sqlite"), "filter": {"loja_id": 2}, "cnpj": "11222333000262"}],
        "tables": [{"name": "movimentos", "direction": "send", "key": ["loja_id", "id"], "scoped": True,
                    "deletes": "propagate"}],
    })
    r = sync_unit(st, "loja_01", st.units("send")[0])[0]
    assert (r.inserted, r.updated, r.deleted) == (1, 1, 1)
    got = rows(origin, "SELECT loja_id, id, valor FROM movimentos ORDER BY loja_id, id")
    assert [(a, b, Decimal(str(c))) for a, b, c in got] == [
        (1, 1, Decimal("10.50")), (1, 3, Decimal("30.00")),   # store 1: updated, inserted, (1, 2) deleted
        (2, 1, Decimal("99.00")), (2, 7, Decimal("70.00"))]   # store 2: untouched
