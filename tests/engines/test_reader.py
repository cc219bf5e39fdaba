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
