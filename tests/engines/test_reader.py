"""The SQLite fast paths read exactly what the DB-API path reads, and refuse what they can't carry."""
from __future__ import annotations

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import get_engine
from sinc_pipeline.io.reader import read_int_column_sqlite, read_sqlite_json, read_table, select_sql
from sinc_pipeline.core.types import arrow_type

from ..helpers import small_demo


@pytest.mark.parametrize("table", ["produto", "vendas", "venda_itens", "documentos_fiscais", "clientes"])
def test_json_path_equals_dbapi_path(make_db, tmp_path, table):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    eng = get_engine(st.store("loja_01").url)
    with eng.connect() as c:
        t = sa.Table(table, sa.MetaData(), autoload_with=c)
        schema = pa.schema([(col.name, arrow_type(col.type)) for col in t.c])
        stmt = select_sql(t, {n: n for n in t.c.keys()}, t.c.keys(), {})
        fast, slow = read_sqlite_json(c, stmt, schema), read_table(c, stmt, schema, 7)
        assert fast.num_rows > 0 and fast.equals(slow)
        key = t.c.keys()[0]
        ints = read_int_column_sqlite(c, select_sql(t, {key: key}, [key], {}), key)
        assert ints.column(key).to_pylist() == slow.column(key).to_pylist()


def test_json_path_refuses_mixed_storage_classes(make_db, tmp_path):
    url = make_db("sqlite")
    with get_engine(url).begin() as c:
        c.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")  # no affinity: values keep their class
        c.exec_driver_sql("INSERT INTO t VALUES (1, 'texto'), (2, 5)")
    with get_engine(url).connect() as c:
        t = sa.Table("t", sa.MetaData(), autoload_with=c)
        schema = pa.schema([("id", pa.int64()), ("v", pa.string())])
        stmt = select_sql(t, {"id": "id", "v": "v"}, ["id", "v"], {})
        with pytest.raises(pa.ArrowException):
            read_sqlite_json(c, stmt, schema)
        assert read_table(c, stmt, schema, 10).column("v").to_pylist() == ["texto", "5"]


@pytest.mark.parametrize("engine, fast", [("sqlite", False), ("sqlite", True), ("postgresql", False),
                                          ("postgresql", True)])
@pytest.mark.parametrize("key_type", ["INTEGER", "VARCHAR(20)"])
def test_many_keys_looked_up_in_one_statement(make_db, monkeypatch, engine, fast, key_type):
    """``Side.read_keys_in`` of many keys on SQLite and PostgreSQL (DB-API, ADBC): one statement
    over a JSON parameter instead of a chunk of bound parameters per 500 keys, giving the very
    rows the chunks give — keys absent from the table, text keys with accents and quotes, and the
    side's row filter included."""
    import random
    from decimal import Decimal

    from sinc_pipeline.core.db import connect
    from sinc_pipeline.io.fastread import open_fast_reader
    from sinc_pipeline.sync import sides

    from ..helpers import execute

    url = make_db(engine)
    execute(url, f"CREATE TABLE t (id {key_type} PRIMARY KEY, loja INTEGER, preco NUMERIC(12, 2), nome VARCHAR(40))")
    ident = (lambda i: i) if key_type == "INTEGER" else (lambda i: f"cód'{i}")
    with get_engine(url).begin() as c:
        c.execute(sa.text("INSERT INTO t VALUES (:i, :l, :p, :n)"),
                  [{"i": ident(i), "l": i % 2, "p": str(Decimal(i) / 100), "n": f"nome {i} é"} for i in range(6000)])
    wanted = random.Random(3).sample(range(8000), 3000)           # some beyond the table's rows
    keys = pa.table({"id": pa.array([ident(i) for i in wanted])})
    statements = []
    sa.event.listen(get_engine(url), "before_cursor_execute", lambda *a: statements.append(a[2]))
    reader = open_fast_reader(url) if fast else None
    if engine == "postgresql" and fast:
        assert reader is not None
        real = reader.read
        monkeypatch.setattr(reader, "read", lambda *a: statements.append(str(a[4])) or real(*a))
    try:
        with connect(url, "teste", snapshot=True) as conn:
            table = sa.Table("t", sa.MetaData(), autoload_with=conn)
            schema = pa.schema([(c.name, arrow_type(c.type)) for c in table.c])
            side = sides.Side(conn, table, {c: c for c in schema.names}, {"loja": 1}, schema, ["id"], "loja",
                              fast=reader)
            statements.clear()
            one = side.read_keys_in(keys)
            lookups = [s for s in statements if "json" in s]
            monkeypatch.setattr(sides, "ONE_STATEMENT_KEYS", 10 ** 9)     # the chunked lookups
            statements.clear()
            chunked = side.read_keys_in(keys)
    finally:
        if reader is not None:
            reader.close()
    assert len(lookups) == 1 and len(statements) >= 3000 // sides.KEY_CHUNK
    expect = sorted(ident(i) for i in wanted if i < 6000 and i % 2 == 1)
    assert sorted(one.column("id").to_pylist()) == expect
    assert one.sort_by("id").equals(chunked.sort_by("id"))
