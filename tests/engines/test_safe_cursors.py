"""Safe cursors: a zone-aware cursor compares in UTC whatever the session's time zone, and a
row stamped in the future (a POS clock in 2099) is synced without moving the position there."""
from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

import sinc_pipeline.sync.unit as unit_mod
from sinc_pipeline.core.db import connect
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.sync.state import get_cursor
from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, rows

SAO_PAULO = "?options=" + urllib.parse.quote("-c timezone=America/Sao_Paulo")


def _settings(origin: str, store: str, **table) -> object:
    return parse_settings({
        "origin": {"url": origin},
        "stores": [{"id": "loja_01", "url": store, "cnpj": "11222333000181"}],
        "tables": [{"name": "produtos", "direction": "receive", "key": ["id"], "cursor": "atualizado_em",
                    "cursor_lookback": 0, **table}],
    })


@pytest.mark.parametrize("reader", ["adbc", "dbapi"])
def test_a_timestamptz_cursor_on_a_sao_paulo_session_misses_nothing(make_db, monkeypatch, reader):
    if reader == "dbapi":   # the DB-API path binds the position itself: it must bind it in UTC too
        monkeypatch.setattr(unit_mod, "open_fast_reader", lambda url: None)
    origin = make_db("postgresql") + SAO_PAULO
    store = make_db("sqlite")
    execute(origin, "CREATE TABLE produtos (id integer PRIMARY KEY, nome text, atualizado_em timestamptz)")
    execute(store, "CREATE TABLE produtos (id integer PRIMARY KEY, nome text, atualizado_em timestamp)")
    execute(origin, "INSERT INTO produtos VALUES (1, 'a', now() - interval '2 hours'), "
                    "(2, 'b', now() - interval '1 hour')")
    st = _settings(origin, store)
    unit = st.units("receive")[0]
    sync_unit(st, "loja_01", unit)
    execute(origin, "INSERT INTO produtos VALUES (3, 'c', now() - interval '30 minutes')")
    execute(origin, "UPDATE produtos SET nome = 'b2', atualizado_em = now() WHERE id = 2")
    r = sync_unit(st, "loja_01", unit)[0]
    assert (r.inserted, r.updated) == (1, 1)
    assert rows(store, "SELECT id, nome FROM produtos ORDER BY id") == [(1, "a"), (2, "b2"), (3, "c")]
    r = sync_unit(st, "loja_01", unit)[0]
    assert r.changed == 0


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_a_row_from_the_future_is_synced_but_does_not_move_the_position(make_db, engine):
    origin, store = make_db(engine), make_db("sqlite")
    ts = "timestamp" if engine != "mariadb" else "datetime(6)"
    execute(origin, f"CREATE TABLE produtos (id integer PRIMARY KEY, nome varchar(20), atualizado_em {ts})")
    execute(store, "CREATE TABLE produtos (id integer PRIMARY KEY, nome varchar(20), atualizado_em timestamp)")
    now = dt.datetime.now().replace(microsecond=0)
    execute(origin, "INSERT INTO produtos VALUES (1, 'a', :t)", {"t": now - dt.timedelta(hours=1)})
    st = _settings(origin, store)
    unit = st.units("receive")[0]
    sync_unit(st, "loja_01", unit)
    execute(origin, "INSERT INTO produtos VALUES (2, 'futuro', :t)", {"t": dt.datetime(2099, 1, 1)})
    execute(origin, "INSERT INTO produtos VALUES (3, 'b', :t)", {"t": now - dt.timedelta(minutes=30)})
    r = sync_unit(st, "loja_01", unit)[0]
    assert r.inserted == 2 and r.extra["cursor_no_futuro"] == 1
    with connect(store, "loja") as c:
        pos = get_cursor(c, "loja_01", "produtos", "receive")
    assert pos == now - dt.timedelta(minutes=30)
    # later sales of the store keep arriving (they would be skipped with the position in 2099)
    execute(origin, "INSERT INTO produtos VALUES (4, 'c', :t)", {"t": now - dt.timedelta(minutes=10)})
    r = sync_unit(st, "loja_01", unit)[0]
    assert r.inserted == 1 and r.extra["cursor_no_futuro"] == 1
    assert [x[0] for x in rows(store, "SELECT id FROM produtos ORDER BY id")] == [1, 2, 3, 4]
    a = verify_table(st, "loja_01", unit[0])
    assert a.passed and a.future_rows == 1      # the check warns (defs: severity WARN) while it stays
    execute(origin, "UPDATE produtos SET atualizado_em = :t WHERE id = 2", {"t": now})
    sync_unit(st, "loja_01", unit)
    assert verify_table(st, "loja_01", unit[0]).future_rows == 0
