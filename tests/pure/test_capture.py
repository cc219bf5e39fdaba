"""Change capture without a database: the SQL each engine gets, positions and their advance
over out-of-order commits, the prune bound, the config rule."""
from __future__ import annotations

import pyarrow as pa
import pytest

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.journal import keys_sql, keys_table
from sinc_pipeline.capture.positions import Position, advance_gaps, contiguous_head, decode, prune_bound
from sinc_pipeline.core.errors import ConfigError, SchemaError
from sinc_pipeline.settings import parse_settings

import copy

from .test_config import BASE


@pytest.mark.parametrize("engine", q.ENGINES)
def test_triggers_record_key_scope_and_operation_per_engine(engine):
    stmts = " ; ".join(q.trigger_sql(engine, "precos", ["loja_id", "produto_id"], ["loja_id"]))
    quote = "`" if engine == "mysql" else '"'
    for op in ("'I'", "'U'", "'D'"):
        assert op in stmts
    assert f"OLD.{quote}loja_id{quote}" in stmts and f"NEW.{quote}produto_id{quote}" in stmts
    assert "chave_1, chave_2, escopo, operacao" in stmts
    if engine == "postgresql":
        assert "current_setting('sinc.aplicando', true)" in stmts and "IS DISTINCT FROM" in stmts
        assert "AFTER INSERT OR UPDATE OR DELETE" in stmts and "CREATE OR REPLACE FUNCTION" in stmts
    elif engine == "mysql":
        assert "@sinc_aplicando" in stmts and stmts.count("CREATE OR REPLACE TRIGGER") == 3 and "<=>" in stmts
    else:
        assert stmts.count("DROP TRIGGER IF EXISTS") == 3 and " IS NEW." in stmts
    assert len(q.drop_trigger_sql(engine, "precos")) in (2, 3)


@pytest.mark.parametrize("engine", q.ENGINES)
def test_change_table_is_idempotent_and_postgres_records_the_transaction(engine):
    ddl = " ; ".join(q.change_table_sql(engine, 1000))
    assert ddl.count("CREATE TABLE IF NOT EXISTS") == 3
    assert ("pg_current_xact_id()" in ddl) == (engine == "postgresql")
    if engine == "mysql":
        assert "AUTO_INCREMENT=1000" in ddl
    if engine == "sqlite":
        assert "sqlite_sequence" in ddl and "999" in ddl


def test_names_are_checked_and_keys_bounded():
    with pytest.raises(SchemaError):
        q.trigger_sql("sqlite", "x; DROP TABLE y", ["id"])
    with pytest.raises(SchemaError) as err:
        q.trigger_sql("sqlite", "t", ["a", "b", "c", "d", "e"])
    assert "1 a 4" in err.value.what


def test_reading_keys_is_distinct_scoped_and_postgres_reads_a_transaction_window():
    pg = keys_sql("postgresql", "precos", 2, "1")
    assert "DISTINCT" in pg and "transacao >=" in pg and "transacao <" in pg and "escopo =" in pg
    lite = keys_sql("sqlite", "produtos", 1, None)
    assert "seq >" in lite and "escopo" not in lite and "chave_2" not in lite
    assert q.scope_text({"loja_id": 1, "rede": "A"}, ["loja_id", "rede"]) == "1|A"


def test_key_texts_are_cast_back_to_the_key_types():
    schema = pa.schema([("loja_id", pa.int32()), ("codigo", pa.string()), ("preco", pa.decimal128(12, 2))])
    t = keys_table([("1", "A", "1.50"), ("2.0", "b", "3")], schema)
    assert t.schema == schema and t.column("loja_id").to_pylist() == [1, 2]
    ts = keys_table([("2026-11-27 18:00:00.5",), ("2026-11-27T18:00:01",)], pa.schema([("t", pa.timestamp("us"))]))
    assert ts.num_rows == 2 and ts.column("t")[1].as_py().second == 1


def test_positions_round_trip():
    for p in (Position(5), Position(10, 20, 1700000000)):
        assert decode(p.encode()) == p and len(p.encode()) <= 64
    assert decode(None) is None and decode("2026-01-01 10:00:00") is None and decode(7) == Position(7)


def test_gaps_wait_then_skip():
    # 13 is missing (an open or rolled-back transaction): read above it, stay below it
    a = advance_gaps(Position(10), [11, 12, 14, 15], now=100, wait_s=300)
    assert a.position == Position(12, 15, 100) and a.waiting == [(13, 13)] and not a.skipped
    # the open transaction commits: contiguous again
    assert advance_gaps(a.position, [13, 14, 15, 16], now=150, wait_s=300).position == Position(16)
    # still missing within the wait: the clock goes on, the position stays
    b = advance_gaps(a.position, [14, 15, 16], now=200, wait_s=300)
    assert b.position == Position(12, 15, 100)
    # missing for the whole wait: skipped (numbers below 15 existed at 100)
    c = advance_gaps(b.position, [14, 15, 16], now=400, wait_s=300)
    assert c.position == Position(16) and c.skipped == [(13, 13)]
    # a newer gap above the old high keeps waiting with its own clock
    d = advance_gaps(b.position, [14, 15, 16, 18], now=400, wait_s=300)
    assert d.skipped == [(13, 13)] and d.position == Position(16, 18, 400)
    assert advance_gaps(Position(3), [], now=1, wait_s=1).position == Position(3)
    assert advance_gaps(Position(10), [12, 14], now=1, wait_s=1, step=2).position == Position(14)


def test_contiguous_head_and_prune_bound():
    assert contiguous_head([5, 6, 8], 4) == 6 and contiguous_head([7], 4) == 4 and contiguous_head([], 4) == 4
    assert prune_bound([5, 3, 9]) == 3 and prune_bound([5, None]) is None and prune_bound([]) is None


def test_config_refuses_journal_with_cursor():
    raw = copy.deepcopy(BASE)
    raw["tables"][0]["capture"] = "journal"
    raw["tables"][0]["cursor"] = "atualizado_em"
    with pytest.raises(ConfigError) as err:
        parse_settings(raw)
    assert "journal não se combina com cursor" in str(err.value)
    raw["tables"][0].pop("cursor")
    s = parse_settings(raw)
    assert s.tables[0].capture == "journal" and s.journal.gap_wait_seconds == 300
