"""SQLite reads through the ADBC helper process (``io/sqlite_helper.py``).

Every test lowers ``HELPER_ROWS`` so that the small tables here go through the helper; each
compares it with the in-process paths (JSON, DB-API) or with values written by hand, and the
consistency tests prove what the helper sees next to a connection of this process.
"""
from __future__ import annotations

import sqlite3
from decimal import Decimal as D

import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import connect, get_engine
from sinc_pipeline.core.types import arrow_type
from sinc_pipeline.io import sqlite_helper
from sinc_pipeline.io.fastread import open_fast_reader
from sinc_pipeline.io.reader import read_fastest, read_table, select_sql
from sinc_pipeline.io.sqlite_helper import HelperError, SqliteFastReader
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, small_demo, sync_all


@pytest.fixture(autouse=True)
def every_read(monkeypatch):
    monkeypatch.setattr(sqlite_helper, "HELPER_ROWS", 1)


@pytest.fixture
def db(make_db):
    url = make_db("sqlite")
    execute(url, "CREATE TABLE t (id INTEGER PRIMARY KEY, preco NUMERIC(12, 2), nome VARCHAR(40), quando DATETIME, "
                 "ativo BOOLEAN, qtd INTEGER, foto BLOB, livre NUMERIC(38, 10))")
    execute(url, "INSERT INTO t VALUES (1, 19.9, 'José 😀', '2026-11-28 10:15:00.123456', 1, 9223372036854775807, "
                 "X'00ff', 1), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL), (3, 10, '', '1969-12-31 23:59:59.999999', "
                 "0, -1, X'', 0.5), (4, -0.01, 'x', '2000-01-01 00:00:00', 1, 0, NULL, NULL)")
    return url


def _table(conn, name="t"):
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    return table, pa.schema([(c.name, arrow_type(c.type)) for c in table.c])


def test_helper_reads_what_the_dbapi_path_reads(db):
    reader = open_fast_reader(db)
    try:
        with connect(db, "teste") as conn:
            table, schema = _table(conn)
            stmt = select_sql(table, {c: c for c in schema.names}, schema.names, {})
            got = reader.read_sqlite(conn, stmt, schema)
            slow = read_table(conn, stmt, schema, 2)
    finally:
        reader.close()
    assert got is not None and got.schema.equals(schema) and got.equals(slow)
    first = got.slice(0, 1).to_pylist()[0]
    assert first["preco"] == D("19.90") and first["nome"] == "José 😀" and first["foto"] == b"\x00\xff"
    assert first["qtd"] == 9223372036854775807 and first["ativo"] is True and first["livre"] == D("1.0000000000")
    assert got.slice(1, 1).to_pylist()[0] == {c: (2 if c == "id" else None) for c in schema.names}


def test_helper_with_filters_conditions_and_mapped_names(db):
    reader = open_fast_reader(db)
    try:
        with connect(db, "teste") as conn:
            table, full = _table(conn)
            physical = {"codigo": "id", "valor": "preco", "momento": "quando"}
            schema = pa.schema([full.field(physical[c]).with_name(c) for c in ["valor", "codigo", "momento"]])
            cond = sa.and_(table.c.quando > "1999-01-01", table.c.nome != "nada")
            stmt = select_sql(table, physical, schema.names, {"codigo": 4}, cond)
            got = reader.read_sqlite(conn, stmt, schema)
            assert got.to_pylist() == read_table(conn, stmt, schema, 10).to_pylist()
            assert got.column("codigo").to_pylist() == [4]
    finally:
        reader.close()


@pytest.mark.parametrize("later", [False, True], ids=["first-batch", "later-batch"])
@pytest.mark.parametrize("value", ["'12345678901234567890.0123456789'", "'abc'", "X'01'"])
def test_a_value_of_the_wrong_storage_class_fails_the_helper_and_is_read_exactly_in_process(db, value, later):
    """The driver infers a column's type from its first rows and would turn a later TEXT value of
    a REAL column into a double (or 0) silently: the helper's statement fails instead, and
    read_fastest reads the rows in process, exactly."""
    execute(db, "CREATE TABLE v (id INTEGER PRIMARY KEY, x)")      # no affinity: values keep their class
    execute(db, "INSERT INTO v VALUES (1, 1.5), (3, 2)")
    if later:                                                      # past the driver's first batch of rows
        execute(db, "WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 80000) "
                    "INSERT INTO v SELECT i, i * 0.5 FROM n")
    execute(db, f"INSERT INTO v VALUES ({90000 if later else 2}, {value})")
    reader = open_fast_reader(db)
    try:
        with connect(db, "teste") as conn:
            table = sa.Table("v", sa.MetaData(), autoload_with=conn)
            schema = pa.schema([("id", pa.int64()), ("x", pa.decimal128(38, 10))])
            stmt = select_sql(table, {"id": "id", "x": "x"}, ["id", "x"], {})
            with pytest.raises(HelperError):
                reader.read_sqlite(conn, stmt, schema)
            if value.startswith("'1"):
                got = read_fastest(conn, table, {"id": "id", "x": "x"}, {}, None, schema, 10, reader)
                exact = got.filter(pa.compute.equal(got.column("id"), 90000 if later else 2))
                assert exact.column("x").to_pylist() == [D("12345678901234567890.0123456789")]
    finally:
        reader.close()


def test_numbers_in_a_text_column_without_text_affinity_fail_the_helper(db):
    execute(db, "CREATE TABLE w (id INTEGER PRIMARY KEY, s NUMERIC)")
    execute(db, "INSERT INTO w VALUES (1, 'a'), (2, 1e20)")
    reader = open_fast_reader(db)
    try:
        with connect(db, "teste") as conn:
            table = sa.Table("w", sa.MetaData(), autoload_with=conn)
            schema = pa.schema([("id", pa.int64()), ("s", pa.string())])
            with pytest.raises(HelperError):
                reader.read_sqlite(conn, select_sql(table, {"id": "id", "s": "s"}, ["id", "s"], {}), schema)
    finally:
        reader.close()


def test_after_a_write_of_its_own_connection_the_read_stays_in_process(db):
    """The helper sees the committed state: once this transaction has written, it is not used."""
    reader = open_fast_reader(db)
    try:
        with connect(db, "teste", write=True) as conn:
            table, schema = _table(conn)
            ident = {c: c for c in schema.names}
            stmt = select_sql(table, ident, schema.names, {})
            assert reader.read_sqlite(conn, stmt, schema).num_rows == 4
            conn.exec_driver_sql("INSERT INTO t (id, nome) VALUES (5, 'nova')")
            assert reader.read_sqlite(conn, stmt, schema) is None
            got = read_fastest(conn, table, ident, {}, None, schema, 10, reader)
            assert got.num_rows == 5 and "nova" in got.column("nome").to_pylist()
            conn.rollback()
    finally:
        reader.close()


def test_one_reader_reads_one_state_and_sees_every_commit_before_it(db):
    """A commit by Python's sqlite3 is seen by the helper right after (the stale read that two
    SQLite libraries in one process gave); later commits are not seen by the same reader (the
    tables of a unit come from one state), and are by the next one."""
    raw = sqlite3.connect(sa.make_url(db).database)
    raw.execute("INSERT INTO t (id, nome) VALUES (10, 'antes')")
    raw.commit()
    first = open_fast_reader(db)
    try:
        with connect(db, "teste", write=True) as conn:     # BEGIN IMMEDIATE: as the sync holds its target
            table, schema = _table(conn)
            stmt = select_sql(table, {c: c for c in schema.names}, schema.names, {})
            assert 10 in first.read_sqlite(conn, stmt, schema).column("id").to_pylist()
        raw.execute("INSERT INTO t (id, nome) VALUES (11, 'depois')")
        raw.commit()
        with connect(db, "teste") as conn:
            assert 11 not in first.read_sqlite(conn, stmt, schema).column("id").to_pylist()
    finally:
        first.close()
        raw.close()
    second = open_fast_reader(db)
    try:
        with connect(db, "teste") as conn:
            assert 11 in second.read_sqlite(conn, stmt, schema).column("id").to_pylist()
    finally:
        second.close()


def test_helpers_are_reused_and_a_dead_one_is_replaced(db):
    with connect(db, "teste") as conn:
        table, schema = _table(conn)
        stmt = select_sql(table, {c: c for c in schema.names}, schema.names, {})
        a = SqliteFastReader(db, sa.make_url(db).database)
        a.read_sqlite(conn, stmt, schema)
        pid = a.worker.proc.pid
        a.close()
        b = SqliteFastReader(db, sa.make_url(db).database)
        b.read_sqlite(conn, stmt, schema)
        assert b.worker.proc.pid == pid                     # warm: no new process per unit
        b.worker.proc.kill()
        b.worker.proc.wait()
        with pytest.raises(HelperError):
            b.read_sqlite(conn, stmt, schema)
        b.close()
        c = SqliteFastReader(db, sa.make_url(db).database)
        assert c.read_sqlite(conn, stmt, schema).num_rows == 4 and c.worker.proc.pid != pid
        c.close()


def test_a_sqlite_sync_reads_through_the_helper(make_db, tmp_path, monkeypatch):
    """Both SQLite sides of a sync read through the helper, and the result checks out."""
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    seen, failures = [], []
    real = SqliteFastReader.read_sqlite

    def spy(self, conn, stmt, schema):
        try:
            out = real(self, conn, stmt, schema)
        except Exception as err:
            failures.append(repr(err))
            raise
        if out is not None:
            seen.append(stmt.get_final_froms()[0].name)
        return out

    monkeypatch.setattr(SqliteFastReader, "read_sqlite", spy)
    first = sync_all(st, "loja_01")
    assert first["produtos"].inserted > 0 and first["vendas"].inserted > 0
    assert failures == []
    assert {"produtos", "produto"} <= set(seen)
    assert all(verify_table(st, "loja_01", t).passed for t in st.tables)
    assert get_engine(st.store("loja_01").url).dialect.name == "sqlite"
