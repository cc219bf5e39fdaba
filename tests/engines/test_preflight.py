"""Compatibility checked before anything is written (issue #8): a MariaDB charset that cannot hold
the source's text, fewer fractional-second digits at the target (compared as the target holds
them, so the second run writes nothing), and text keys under a collation that folds what the
source distinguishes."""
from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest

from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.core.logs import run_scope
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, rows

CNPJ = "11222333000181"


def settings(origin: str, store: str, direction: str = "receive", **table) -> object:
    return parse_settings({
        "origin": {"url": origin},
        "stores": [{"id": "loja_01", "url": store, "filter": {"loja_id": 1}, "cnpj": CNPJ}],
        "tables": [{"name": "produtos", "direction": direction, "key": ["id"], **table}],
    })


def unit(st):
    return st.units(st.tables[0].direction)[0]


def compat_warnings(caplog, rule_word: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and r.name.startswith("sinc_pipeline") and rule_word in r.getMessage()]


# ---------------------------------------------------------------- charsets
@pytest.mark.parametrize("origin_engine", ["sqlite", "postgresql"])
def test_utf8mb3_store_refuses_an_emoji_before_writing(make_db, origin_engine):
    origin, store = make_db(origin_engine), make_db("mariadb")
    execute(origin, "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(store, "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome VARCHAR(60)) CHARACTER SET utf8mb3")
    execute(origin, "INSERT INTO produtos VALUES (1, 'Café com pão'), (2, 'Sorvete 🍦 de ação')")
    st = settings(origin, store)
    with pytest.raises(SchemaError) as err:
        sync_unit(st, "loja_01", unit(st))
    msg = str(err.value)
    for part in ("loja_01", "'produtos'", "'nome'", "utf8mb3", "nada foi gravado", "{'id': 2}", "🍦",
                 "ALTER TABLE `produtos` CONVERT TO CHARACTER SET utf8mb4", "on_unrepresentable: report"):
        assert part in msg, (part, msg)
    assert rows(store, "SELECT COUNT(*) FROM produtos") == [(0,)]


@pytest.mark.parametrize("origin_engine", ["sqlite", "postgresql"])
def test_utf8mb3_store_with_report_is_not_refused_at_preflight(make_db, origin_engine, caplog):
    origin, store = make_db(origin_engine), make_db("mariadb")
    execute(origin, "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(store, "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome VARCHAR(60)) CHARACTER SET utf8mb3")
    execute(origin, "INSERT INTO produtos VALUES (1, 'Café com pão'), (2, 'Pão de açúcar')")
    st = settings(origin, store, on_unrepresentable="report")
    caplog.set_level(logging.WARNING, logger="sinc_pipeline")
    run_id = uuid.uuid4().hex
    with run_scope(run_id):
        assert sync_unit(st, "loja_01", unit(st), run_id=run_id)[0].inserted == 2
        assert sync_unit(st, "loja_01", unit(st), run_id=run_id)[0].changed == 0
    warned = compat_warnings(caplog, "utf8mb3")
    assert len(warned) == 1 and "'nome'" in warned[0] and "CONVERT TO CHARACTER SET utf8mb4" in warned[0], warned
    execute(origin, "INSERT INTO produtos VALUES (3, 'Sorvete 🍦'), (4, 'Picolé')")
    r = sync_unit(st, "loja_01", unit(st))[0]      # the preflight lets it through: the apply holds the row
    assert (r.inserted, r.held) == (1, 1)
    assert rows(store, "SELECT id FROM produtos ORDER BY id") == [(1,), (2,), (4,)]


# ---------------------------------------------------------------- fractional seconds
DDL = {   # engine -> (timestamp with microseconds, time with microseconds, whole seconds ones)
    "sqlite": ("DATETIME", "TIME", None),
    "postgresql": ("TIMESTAMP(6)", "TIME(6)", ("TIMESTAMP(0)", "TIME(0)")),
    "mariadb": ("DATETIME(6)", "TIME(6)", ("DATETIME(0)", "TIME(0)")),
}
VALUES = ["2024-03-01 10:00:00.999999", "2024-03-01 10:00:01.500000", "1965-07-20 08:30:00.250000", None]
EXPECTED = {"mariadb": ["2024-03-01 10:00:00", "2024-03-01 10:00:01", "1965-07-20 08:30:00", None],
            "postgresql": ["2024-03-01 10:00:01", "2024-03-01 10:00:02", "1965-07-20 08:30:00", None]}


@pytest.mark.parametrize("origin_engine, store_engine, direction", [
    ("postgresql", "mariadb", "receive"), ("sqlite", "mariadb", "receive"), ("sqlite", "postgresql", "receive"),
    ("mariadb", "postgresql", "receive"), ("mariadb", "sqlite", "send")])
def test_fewer_fraction_digits_settle_after_one_run(make_db, origin_engine, store_engine, direction, caplog):
    origin, store = make_db(origin_engine), make_db(store_engine)
    fine, coarse = (origin_engine, store_engine) if direction == "receive" else (store_engine, origin_engine)
    source, target = (origin, store) if direction == "receive" else (store, origin)
    ts, tm, _ = DDL[fine]
    ts0, tm0 = DDL[coarse][2]
    ddl = "CREATE TABLE produtos (loja_id INTEGER NOT NULL, id INTEGER NOT NULL, quando {}, hora {}, PRIMARY KEY (loja_id, id))"
    execute(source, ddl.format(ts, tm))
    execute(target, ddl.format(ts0, tm0))
    for i, v in enumerate(VALUES):
        execute(source, "INSERT INTO produtos VALUES (1, :i, :q, :h)",
                {"i": i, "q": v, "h": None if v is None else v[11:]})
    extra = {"scoped": True, "key": ["loja_id", "id"]}
    st = settings(origin, store, direction, **extra)
    caplog.set_level(logging.WARNING, logger="sinc_pipeline")
    run_id = uuid.uuid4().hex                               # warnings are remembered per run id
    with run_scope(run_id):
        first = sync_unit(st, "loja_01", unit(st), run_id=run_id)[0]
        second = sync_unit(st, "loja_01", unit(st), run_id=run_id)[0]
        agreement = verify_table(st, "loja_01", st.tables[0])
    assert first.inserted == len(VALUES)
    assert second.changed == 0, second                      # compared as the target holds them
    assert agreement.passed, agreement
    warned = compat_warnings(caplog, "microssegundos → segundos")
    assert len(warned) == 1, warned                          # once per table and run
    assert "'quando'" in warned[0] and "'hora'" in warned[0]
    got = [q for _, q in sorted(rows(target, "SELECT id, quando FROM produtos"))]
    expected = EXPECTED[coarse]                                  # MariaDB truncates, PostgreSQL rounds
    assert got == [None if e is None else dt.datetime.fromisoformat(e) for e in expected], got


# ---------------------------------------------------------------- key collations
@pytest.mark.parametrize("origin_engine", ["sqlite", "postgresql"])
def test_text_key_collision_under_general_ci_is_refused_with_the_fix(make_db, origin_engine):
    origin, store = make_db(origin_engine), make_db("mariadb")
    execute(origin, "CREATE TABLE clientes (codigo VARCHAR(20) NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(store, "CREATE TABLE clientes (codigo VARCHAR(20) NOT NULL PRIMARY KEY, nome VARCHAR(60)) "
                   "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    execute(origin, "INSERT INTO clientes VALUES ('José', 'um'), ('Jose', 'outro'), ('Maria', 'três')")
    st = parse_settings({"origin": {"url": origin}, "stores": [{"id": "loja_01", "url": store, "cnpj": CNPJ}],
                         "tables": [{"name": "clientes", "direction": "receive", "key": ["codigo"]}]})
    with pytest.raises(SchemaError) as err:
        sync_unit(st, "loja_01", st.units("receive")[0])
    msg = str(err.value)
    for part in ("loja_01", "'clientes'", "'codigo'", "utf8mb4_general_ci", "José", "'Jose'",
                 "MODIFY `codigo` varchar(20) NOT NULL CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"):
        assert part in msg, (part, msg)
    assert rows(store, "SELECT COUNT(*) FROM clientes") == [(0,)]


def test_trailing_space_keys_collide_under_pad_space_bin_and_none_found_is_a_warning(make_db, caplog):
    origin, store = make_db("postgresql"), make_db("mariadb")          # the test database is utf8mb4_bin
    execute(origin, "CREATE TABLE clientes (codigo VARCHAR(20) NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(store, "CREATE TABLE clientes (codigo VARCHAR(20) NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(origin, "INSERT INTO clientes VALUES ('José', 'um'), ('Jose', 'outro'), ('X', 'três')")
    st = parse_settings({"origin": {"url": origin}, "stores": [{"id": "loja_01", "url": store, "cnpj": CNPJ}],
                         "tables": [{"name": "clientes", "direction": "receive", "key": ["codigo"]}]})
    caplog.set_level(logging.WARNING, logger="sinc_pipeline")
    assert sync_unit(st, "loja_01", st.units("receive")[0])[0].inserted == 3     # case and accents are kept
    warned = compat_warnings(caplog, "utf8mb4_bin")
    assert len(warned) == 1 and "espaços no fim" in warned[0] and "nenhuma colisão" in warned[0], warned
    execute(origin, "INSERT INTO clientes VALUES ('X ', 'quatro')")
    with pytest.raises(SchemaError, match=r"(?s)'X'.*'X '.*utf8mb4_nopad_bin"):
        sync_unit(st, "loja_01", st.units("receive")[0])
    assert rows(store, "SELECT COUNT(*) FROM clientes") == [(3,)]


def test_sqlite_nocase_store_key_collision(make_db):
    origin, store = make_db("postgresql"), make_db("sqlite")
    execute(origin, "CREATE TABLE clientes (codigo VARCHAR(20) NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(store, "CREATE TABLE clientes (codigo VARCHAR(20) COLLATE NOCASE NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(origin, "INSERT INTO clientes VALUES ('Ação', 'um'), ('AÇÃO', 'dois')")   # NOCASE folds ASCII only
    st = parse_settings({"origin": {"url": origin}, "stores": [{"id": "loja_01", "url": store, "cnpj": CNPJ}],
                         "tables": [{"name": "clientes", "direction": "receive", "key": ["codigo"]}]})
    assert sync_unit(st, "loja_01", st.units("receive")[0])[0].inserted == 2
    execute(origin, "INSERT INTO clientes VALUES ('abc', 'três'), ('ABC', 'quatro')")
    with pytest.raises(SchemaError, match=r"(?s)NOCASE.*'ABC'.*'abc'"):
        sync_unit(st, "loja_01", st.units("receive")[0])
    assert rows(store, "SELECT COUNT(*) FROM clientes") == [(2,)]
