"""The ADBC PostgreSQL fast reader (``io/fastread.py``) on its own.

``reader.read_fastest`` falls back to the DB-API path whenever the fast reader raises, so the
rest of the suite passes just as well with a broken fast path. These tests do not go through
that fallback: they call ``FastReader`` directly and compare it with the DB-API path
(``read_table`` / ``iter_batches``) and with values written out by hand, and they spy on a
PostgreSQL sync to prove that its reads really go through the fast reader.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pyarrow as pa
import pytest
import sqlalchemy as sa

import sinc_pipeline.io.reader as reader_mod
from sinc_pipeline.core.db import connect, dispose_all
from sinc_pipeline.core.types import arrow_type
from sinc_pipeline.io.fastread import FastReader, open_fast_reader
from sinc_pipeline.io.reader import iter_batches, read_table, select_sql
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, small_demo, sync_all

DDL = """CREATE TABLE tipos (
    id BIGINT PRIMARY KEY, loja INTEGER NOT NULL, preco NUMERIC(12, 2), fator NUMERIC(12, 4),
    quando TIMESTAMP, quando_tz TIMESTAMPTZ, dia DATE, ativo BOOLEAN, qtd BIGINT, nome TEXT,
    cidade VARCHAR(60), livre NUMERIC, peso DOUBLE PRECISION, hora TIME, foto BYTEA)"""
# Literal SQL, so the values do not depend on either driver. The database's time zone is
# America/Sao_Paulo (not UTC), so TIMESTAMPTZ values must come back converted to naive UTC.
INSERT = """INSERT INTO tipos VALUES
 (1, 1, 19.90, 0.0001, '2026-11-28 10:15:00.123456', '2026-11-28 10:15:00.123456+00', '2026-02-28', true,
  9223372036854775807, 'José', 'São Paulo', 12345678901234567890.0123456789, 1.5, '10:15:00.123456', '\\x00ff'),
 (2, 1, -9999999999.99, -99999999.9999, '1969-12-31 23:59:59.999999', '1969-12-31 21:00:00.000001-03', '1900-01-01',
  false, -9223372036854775808, 'ção 😀', '', -0.0000000001, -1e300, '23:59:59.999999', ''),
 (3, 2, 9999999999.99, 99999999.9999, '2099-12-31 23:59:59.999999', '2026-06-01 00:00:00+05:30', '2099-12-31', NULL,
  0, '', NULL, 0, 0.1, '00:00', NULL),
 (4, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 2, 0.00, -0.0001, '2000-01-01 00:00:00', '2000-01-01 00:00:00-03', '2000-01-01', true, -1,
  'Ação — “aspas” | barra', 'Conceição', 1, 2, '12:00', '\\x01')"""
EXPECTED_SCHEMA = pa.schema([
    ("id", pa.int64()), ("loja", pa.int64()), ("preco", pa.decimal128(12, 2)), ("fator", pa.decimal128(12, 4)),
    ("quando", pa.timestamp("us")), ("quando_tz", pa.timestamp("us")), ("dia", pa.date32()), ("ativo", pa.bool_()),
    ("qtd", pa.int64()), ("nome", pa.string()), ("cidade", pa.string()), ("livre", pa.decimal128(38, 10)),
    ("peso", pa.float64()), ("hora", pa.time64("us")), ("foto", pa.binary())])
EXPECTED = [
    (1, 1, D("19.90"), D("0.0001"), dt.datetime(2026, 11, 28, 10, 15, 0, 123456),
     dt.datetime(2026, 11, 28, 10, 15, 0, 123456), dt.date(2026, 2, 28), True, 9223372036854775807, "José",
     "São Paulo", D("12345678901234567890.0123456789"), 1.5, dt.time(10, 15, 0, 123456), b"\x00\xff"),
    (2, 1, D("-9999999999.99"), D("-99999999.9999"), dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
     dt.datetime(1970, 1, 1, 0, 0, 0, 1), dt.date(1900, 1, 1), False, -9223372036854775808, "ção 😀", "",
     D("-0.0000000001"), -1e300, dt.time(23, 59, 59, 999999), b""),
    (3, 2, D("9999999999.99"), D("99999999.9999"), dt.datetime(2099, 12, 31, 23, 59, 59, 999999),
     dt.datetime(2026, 5, 31, 18, 30), dt.date(2099, 12, 31), None, 0, "", None, D("0"), 0.1, dt.time(0, 0), None),
    (4, 1) + (None,) * 13,
    (5, 2, D("0.00"), D("-0.0001"), dt.datetime(2000, 1, 1), dt.datetime(2000, 1, 1, 3), dt.date(2000, 1, 1), True,
     -1, "Ação — “aspas” | barra", "Conceição", D("1"), 2.0, dt.time(12, 0), b"\x01"),
]


def by_id(table: pa.Table) -> pa.Table:
    return table.sort_by([("id", "ascending")]).combine_chunks()


def as_tuples(table: pa.Table) -> list[tuple]:
    return [tuple(r.values()) for r in by_id(table).to_pylist()]


@pytest.fixture
def pg_url(make_db):
    url = make_db("postgresql")
    execute(url, f"ALTER DATABASE \"{sa.make_url(url).database}\" SET timezone TO 'America/Sao_Paulo'")
    dispose_all()                      # new sessions (both drivers) start in the database's time zone
    execute(url, DDL)
    execute(url, INSERT)
    return url


@pytest.fixture
def fast(pg_url):
    r = FastReader(pg_url)
    yield r
    r.close()


def reflect(url: str) -> tuple[sa.Table, pa.Schema]:
    with connect(url, "teste") as conn:
        table = sa.Table("tipos", sa.MetaData(), autoload_with=conn)
    return table, pa.schema([(c.name, arrow_type(c.type)) for c in table.c])


def dbapi(url: str, table: sa.Table, physical: dict, columns, filters: dict, extra, schema: pa.Schema) -> pa.Table:
    with connect(url, "teste", snapshot=True) as conn:
        return read_table(conn, select_sql(table, physical, columns, filters, extra), schema, 2)


def test_open_fast_reader_gives_a_reader_for_postgresql_and_sqlite(pg_url, make_db):
    r = open_fast_reader(pg_url)
    assert isinstance(r, FastReader) and r.dialect == "postgresql"     # not None: no silent fallback
    r.close()
    sqlite_url = make_db("sqlite")
    assert open_fast_reader(sqlite_url).dialect == "sqlite"          # the helper process (sqlite_helper.py)
    with pytest.raises(NotImplementedError, match="sqlite"):
        FastReader(sqlite_url)


def test_fast_path_returns_exactly_what_the_dbapi_path_returns(pg_url, fast):
    table, schema = reflect(pg_url)
    assert schema == EXPECTED_SCHEMA
    ident = {c: c for c in schema.names}
    got = fast.read(table, ident, schema.names, {}, None, schema)
    assert got.schema.equals(EXPECTED_SCHEMA, check_metadata=True)
    with connect(pg_url, "teste", snapshot=True) as conn:
        stmt = select_sql(table, ident, schema.names, {})
        slow = read_table(conn, stmt, schema, 2)
        batches = list(iter_batches(conn, stmt, schema, 2))
    assert len(batches) == 3 and all(b.schema.equals(schema) for b in batches)
    streamed = pa.Table.from_batches(batches, schema)
    assert slow.schema.equals(got.schema, check_metadata=True)
    assert by_id(got).equals(by_id(slow)) and by_id(got).equals(by_id(streamed))
    # and both are right, value for value, against what was written
    assert as_tuples(got) == EXPECTED == as_tuples(slow)
    assert [None if v is None else str(v) for v in by_id(got)["preco"].to_pylist()] == \
        ["19.90", "-9999999999.99", "9999999999.99", None, "0.00"]
    assert [None if v is None else str(v) for v in by_id(got)["fator"].to_pylist()] == \
        ["0.0001", "-99999999.9999", "99999999.9999", None, "-0.0001"]
    assert all(got.column(i).null_count >= 1 for i in range(1, len(schema)) if schema.names[i] != "loja")


CONDITIONS = {  # name: (extra condition, ids expected among loja 1's rows 1, 2, 4)
    "all": (lambda t: None, [1, 2, 4]),
    "in": (lambda t: t.c.id.in_([1, 2, 3, 99]), [1, 2]),                     # expanding IN: bound $n parameters
    "tuple-in": (lambda t: sa.tuple_(t.c.loja, t.c.id).in_([(1, 1), (1, 3), (2, 3), (1, 4)]), [1, 4]),
    "range": (lambda t: sa.and_(t.c.id >= 2, t.c.id < 5), [2, 4]),
    "is-null": (lambda t: t.c.quando_tz.is_(None), [4]),
    "nothing": (lambda t: sa.false(), []),                                  # an empty, typed table
}


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_fast_path_with_mapping_filters_and_conditions(pg_url, fast, name):
    table, full = reflect(pg_url)
    # logical names (the compare space) differ from the physical ones; some columns, reordered
    physical = {"codigo": "id", "valor": "preco", "quantia": "fator", "momento": "quando_tz", "cliente": "nome",
                "loja": "loja"}
    columns = ["valor", "cliente", "codigo", "momento", "quantia"]
    schema = pa.schema([full.field(physical[c]).with_name(c) for c in columns])
    make, ids = CONDITIONS[name]
    cond = make(table)
    got = fast.read(table, physical, columns, {"loja": 1}, cond, schema)
    slow = dbapi(pg_url, table, physical, columns, {"loja": 1}, cond, schema)
    assert got.schema.equals(schema) and slow.schema.equals(schema)
    key = [("codigo", "ascending")]
    assert got.sort_by(key).equals(slow.sort_by(key))
    assert got.sort_by(key).to_pylist() == [
        {"valor": r[2], "cliente": r[9], "codigo": r[0], "momento": r[5], "quantia": r[3]}
        for r in EXPECTED if r[0] in ids]


def test_one_reader_reads_one_consistent_state(pg_url, fast):
    table, schema = reflect(pg_url)
    ident = {c: c for c in schema.names}
    before = fast.read(table, ident, schema.names, {}, None, schema)
    execute(pg_url, "INSERT INTO tipos (id, loja, nome) VALUES (6, 1, 'depois')")
    execute(pg_url, "UPDATE tipos SET nome = 'mudou' WHERE id = 1")
    again = fast.read(table, ident, schema.names, {}, None, schema)
    assert by_id(again).equals(by_id(before))                 # REPEATABLE READ: the tables of a unit agree
    fresh = FastReader(pg_url)
    try:
        now = fresh.read(table, ident, schema.names, {}, None, schema)
    finally:
        fresh.close()
    assert now.num_rows == 6 and "mudou" in now["nome"].to_pylist()


@pytest.mark.parametrize("origin,store", [("postgresql", "sqlite"), ("sqlite", "postgresql")])
def test_a_postgresql_sync_reads_through_the_fast_reader(make_db, tmp_path, monkeypatch, origin, store):
    """Spies on both paths: every read of the PostgreSQL side goes through FastReader.read and
    succeeds; the DB-API fallback (``read_table``) is never used for PostgreSQL."""
    st = small_demo(make_db, origin, store, tmp_path)
    fast_reads, fast_failures, fallback = [], [], []
    real_read, real_read_table = FastReader.read, reader_mod.read_table

    def spy_read(self, table, *args, **kwargs):
        try:
            out = real_read(self, table, *args, **kwargs)
        except Exception as err:
            fast_failures.append((table.name, repr(err)))
            raise
        fast_reads.append(table.name)
        return out

    def spy_read_table(conn, *args, **kwargs):
        fallback.append(conn.dialect.name)
        return real_read_table(conn, *args, **kwargs)

    monkeypatch.setattr(FastReader, "read", spy_read)
    monkeypatch.setattr(reader_mod, "read_table", spy_read_table)
    first = sync_all(st, "loja_01")
    assert first["produtos"].inserted > 0 and first["vendas"].inserted > 0
    assert all(verify_table(st, "loja_01", t).passed for t in st.tables)
    assert fast_failures == []
    assert "postgresql" not in fallback
    pg_names = {t.name if origin == "postgresql" else t.target_name for t in st.tables}
    assert set(fast_reads) == pg_names            # every table of the PostgreSQL side, and only those
