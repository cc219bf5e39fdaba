"""A table with no integer key to split on is read in one streaming read: every row arrives.

A previous session found the streaming path dropping the first row on PostgreSQL and MariaDB
(SQLAlchemy's ``stream_results`` pre-fetches one row into its own buffer, and the reader took
the driver's cursor rows after it). Checked through the reader itself, a snapshot dump and
criar_base_loja."""
from __future__ import annotations

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import connect, get_engine
from sinc_pipeline.io.chunks import read_chunks
from sinc_pipeline.io.ranges import range_column
from sinc_pipeline.provisioning.store_database import create_store_database
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.snapshots.dump import dump_store

from ..conftest import ENGINES
from ..helpers import rows

N = 3_500
CHUNK = 1_000
SCHEMA = pa.schema([("codigo", pa.string()), ("nome", pa.string())])


def text_key_table(url: str) -> None:
    with get_engine(url).begin() as c:
        c.exec_driver_sql("CREATE TABLE codigos (codigo VARCHAR(20) NOT NULL PRIMARY KEY, nome VARCHAR(80))")
        c.execute(sa.text("INSERT INTO codigos (codigo, nome) VALUES (:c, :n)"),
                  [{"c": f"C{i:06d}", "n": f"nome {i}"} for i in range(N)])


def settings_for(origin: str, store: str, tmp_path):
    return parse_settings({
        "origin": {"url": origin},
        "stores": [{"id": "loja_01", "url": store, "cnpj": "11222333000181"}],
        "tables": [{"name": "codigos", "direction": "receive", "key": ["codigo"]}],
        "chunk_size": CHUNK,
        "snapshots": {"root": str(tmp_path / "snapshots")},
        "dagster_home": str(tmp_path / "dagster"),
    })


@pytest.mark.parametrize("engine", ENGINES)
def test_streaming_read_returns_every_row(make_db, engine):
    url = make_db(engine)
    text_key_table(url)
    with connect(url, "teste", snapshot=True) as conn:
        table = sa.Table("codigos", sa.MetaData(), autoload_with=conn)
        assert range_column(conn, table, SCHEMA, ["codigo"]) is None       # the streaming path
        pieces = [piece for _, piece in read_chunks(conn, table, SCHEMA, ["codigo"], CHUNK)]
    got = pa.concat_tables(pieces)
    assert got.num_rows == N and len(pieces) > 1
    assert sorted(got.column("codigo").to_pylist()) == [f"C{i:06d}" for i in range(N)]


@pytest.mark.parametrize("engine", ["postgresql", "mariadb"])
def test_dump_and_new_store_keep_every_row_of_a_text_key_table(make_db, tmp_path, engine):
    origin, store = make_db(engine), make_db(engine)
    text_key_table(origin)
    st = settings_for(origin, store, tmp_path)
    res = create_store_database(st, "loja_01")
    assert res.tables["codigos"] == N
    assert rows(store, "SELECT COUNT(*) FROM codigos")[0][0] == N
    assert rows(store, "SELECT COUNT(*) FROM codigos WHERE codigo = 'C000000'")[0][0] == 1
    dumped = dump_store(st, "loja_01", "completa")
    assert dumped.manifest.tables["codigos"].rows == N
