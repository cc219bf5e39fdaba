"""The database-free part of Gerar Base de Dados + Restaurar Base: CREATE TABLE text per engine,
and target URLs refused before any connection is opened."""
from __future__ import annotations

import pyarrow as pa
import pytest

from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.io.ddl import create_table_sql
from sinc_pipeline.snapshots import LocalStorage
from sinc_pipeline.snapshots.restore import RestoreError, restore

STORE = "loja_01"
SCHEMA = pa.schema([("id", pa.int64()), ("codigo", pa.string()), ("preco", pa.decimal128(12, 2)),
                    ("qtd", pa.decimal128(14, 3)), ("ativo", pa.bool_()), ("quando", pa.timestamp("us")),
                    ("dia", pa.date32()), ("foto", pa.binary()), ("peso", pa.float64()), ("nome", pa.string())])


def test_bad_target_url_is_named():
    with pytest.raises(RestoreError, match="não é uma URL de banco válida"):
        restore(LocalStorage("/nao/existe"), STORE, "latest", "isto não é url")
    with pytest.raises(RestoreError, match="'oracle' não suportado"):
        restore(LocalStorage("/nao/existe"), STORE, "latest", "oracle://u:segredo@host/db")


@pytest.mark.parametrize("dialect,expected", [
    ("sqlite", ["id INTEGER NOT NULL", "codigo TEXT NOT NULL", "preco NUMERIC(12, 2)", "quando DATETIME",
                "nome TEXT", "PRIMARY KEY (id, codigo)"]),
    ("postgresql", ["id BIGINT NOT NULL", "preco NUMERIC(12, 2)", "ativo BOOLEAN", "quando TIMESTAMP WITHOUT TIME ZONE",
                    "foto BYTEA", "peso DOUBLE PRECISION"]),
    ("mariadb", ["id BIGINT NOT NULL", "codigo VARCHAR(255) NOT NULL", "quando DATETIME(6)", "nome LONGTEXT",
                 "foto LONGBLOB", "ativo BOOL"]),
])
def test_create_table_sql_per_engine(dialect, expected):
    sql = create_table_sql("produto", SCHEMA, ["id", "codigo"], dialect)
    assert sql.startswith("CREATE TABLE produto")
    for fragment in expected:
        assert fragment in sql, (fragment, sql)


def test_ddl_names_what_it_cannot_create():
    with pytest.raises(SchemaError, match=r"'tags'.*list"):
        create_table_sql("produto", pa.schema([("id", pa.int64()), ("tags", pa.list_(pa.string()))]), ["id"], "sqlite")
    with pytest.raises(SchemaError, match="'oracle' não suportado"):
        create_table_sql("produto", SCHEMA, ["id"], "oracle")
    with pytest.raises(SchemaError, match=r"chave \['sku'\]"):
        create_table_sql("produto", SCHEMA, ["sku"], "sqlite")

