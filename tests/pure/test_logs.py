"""Slower paths are said at WARNING, once per table and run (core/logs.py), without Dagster."""
from __future__ import annotations

import logging
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from sinc_pipeline.core.logs import LOGGER, run_scope, warn_once
from sinc_pipeline.core.types import read_as_text_only, warn_unknown_types
from sinc_pipeline.io import fastread
from sinc_pipeline.io.reader import read_fastest

TABLE = sa.Table("vendas", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("total", sa.Numeric(10, 2)))
SCHEMA = pa.schema([("id", pa.int64()), ("total", pa.decimal128(10, 2))])


class FailingFastReader:
    label = "postgresql://sinc:***@10.0.0.1/origem"
    url = "postgresql://sinc:s3gr3d0@10.0.0.1/origem"

    def __init__(self):
        self.calls = 0

    def read(self, *args, **kwargs):
        self.calls += 1
        raise RuntimeError("protocolo ADBC recusado pelo servidor (senha s3gr3d0)\nsegunda linha")


class FakeConn:
    """Just enough of a Connection for the DB-API path: two rows, no database."""

    class dialect:
        name = "postgresql"

    def execute(self, stmt):
        rows = [(1, "10.50"), (2, "3.25")]

        class Cursor:
            def fetchmany(self, n):
                out = rows[:n]
                del rows[:n]
                return out

        class Result:
            cursor = Cursor()

            def close(self):
                pass

        return Result()


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith(LOGGER)]


def test_a_failing_fast_reader_is_warned_once_per_table_in_a_scope(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    fast = FailingFastReader()
    with run_scope("run-1"):
        first = read_fastest(FakeConn(), TABLE, {"id": "id", "total": "total"}, {}, None, SCHEMA, 10, fast)
        second = read_fastest(FakeConn(), TABLE, {"id": "id", "total": "total"}, {}, None, SCHEMA, 10, fast)
    assert fast.calls == 2                                       # the fast path was tried both times
    expected = [{"id": 1, "total": Decimal("10.50")}, {"id": 2, "total": Decimal("3.25")}]
    assert first.to_pylist() == second.to_pylist() == expected    # the DB-API path gave the rows
    warned = _warnings(caplog)
    assert len(warned) == 1, [r.getMessage() for r in caplog.records]
    text = warned[0].getMessage()
    assert "'vendas'" in text and "protocolo ADBC recusado" in text and "DB-API" in text
    assert "s3gr3d0" not in text and "segunda linha" not in text   # password hidden, first line only


def test_a_new_run_warns_again_and_other_tables_warn_on_their_own(caplog):
    fast = FailingFastReader()
    other = sa.Table("clientes", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("total", sa.Numeric(10, 2)))
    phys = {"id": "id", "total": "total"}
    with run_scope("run-a"):
        read_fastest(FakeConn(), TABLE, phys, {}, None, SCHEMA, 10, fast)
        read_fastest(FakeConn(), other, phys, {}, None, SCHEMA, 10, fast)
    with run_scope("run-a"):                                     # another step of the same run
        read_fastest(FakeConn(), TABLE, phys, {}, None, SCHEMA, 10, fast)
    assert len(_warnings(caplog)) == 2                           # vendas and clientes, once each
    with run_scope("run-b"):
        read_fastest(FakeConn(), TABLE, phys, {}, None, SCHEMA, 10, fast)
    assert len(_warnings(caplog)) == 3
    assert ["'vendas'" in r.getMessage() for r in _warnings(caplog)] == [True, False, True]


def test_run_scope_memory():
    with run_scope():
        assert warn_once(("k",), "primeira") is True
        with run_scope("outro"):                                 # nested: joins the outer scope
            assert warn_once(("k",), "de novo") is False
    assert warn_once(("k",), "fora de um escopo") is True       # outside any scope: every time
    assert warn_once(("k",), "fora de um escopo") is True
    with run_scope():                                            # no run id: a fresh memory
        assert warn_once(("k",), "nova execução") is True


def test_adbc_unavailable_for_a_database_is_warned_once(monkeypatch, caplog):
    class Refused:
        def __init__(self, url):
            raise OSError(f"connection refused to {url}")

    monkeypatch.setattr(fastread, "FastReader", Refused)
    url = "postgresql://sinc:s3gr3d0@10.0.0.1/origem"
    with run_scope("run-c"):
        assert fastread.open_fast_reader(url) is None
        assert fastread.open_fast_reader(url) is None
    warned = _warnings(caplog)
    assert len(warned) == 1
    assert "10.0.0.1/origem" in warned[0].getMessage() and "connection refused" in warned[0].getMessage()
    assert "s3gr3d0" not in warned[0].getMessage()

    class NotPostgres:
        def __init__(self, url):
            raise NotImplementedError("sqlite")

    monkeypatch.setattr(fastread, "FastReader", NotPostgres)
    assert fastread.open_fast_reader("sqlite://") is None        # in memory: no helper process can read it
    assert fastread.open_fast_reader("sqlite:///x.db").dialect == "sqlite"   # a file: the helper (sqlite_helper)
    assert len(_warnings(caplog)) == 1


@pytest.mark.parametrize("col_type, text_only", [
    (sa.types.NullType(), True), (postgresql.INTERVAL(), True), (postgresql.MONEY(), True),
    (sa.String(20), False), (sa.Text(), False), (sa.JSON(), False), (sa.Uuid(), False), (sa.Enum("a", "b"), False),
    (sa.Integer(), False), (sa.Numeric(10, 2), False), (sa.DateTime(), False)])
def test_read_as_text_only(col_type, text_only):
    assert read_as_text_only(col_type) is text_only


def test_unknown_types_are_warned_once_per_table(caplog):
    t = sa.Table("produtos", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("nome", sa.String(40)),
                 sa.Column("garantia", postgresql.INTERVAL()), sa.Column("extra", sa.types.NullType()))
    with run_scope("run-d"):
        warn_unknown_types(t, ["id", "nome", "garantia", "extra"], "de origem postgresql://***@h/o")
        warn_unknown_types(t, ["id", "nome", "garantia", "extra"], "de origem postgresql://***@h/o")
        warn_unknown_types(t, ["id", "nome"], "de origem postgresql://***@h/o")         # nothing unknown
    warned = _warnings(caplog)
    assert len(warned) == 1
    text = warned[0].getMessage()
    assert "'produtos'" in text and "'garantia' (INTERVAL)" in text and "'extra'" in text and "texto" in text
    assert "'nome'" not in text and "'id'" not in text
