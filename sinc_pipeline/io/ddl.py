"""Tables from Arrow schemas: the column type each engine gets, and the CREATE TABLE for it.

Used where sinc_pipeline creates tables itself: a restore (``snapshots/restore.py``, types from the
snapshot's Parquet schema) and a new store's database (``provisioning/``, types from the
origin). Canonical Arrow types (``core.types.arrow_type``) map back to SQL types per engine:

    Arrow              SQLite      PostgreSQL         MariaDB / MySQL
    bool               BOOLEAN     BOOLEAN            BOOL
    int8..int64        INTEGER     SMALLINT..BIGINT   SMALLINT..BIGINT
    float/double       DOUBLE      DOUBLE PRECISION   DOUBLE
    decimal128(p, s)   NUMERIC(p, s) on every engine
    timestamp[us]      DATETIME    TIMESTAMP          DATETIME(6)
    date32             DATE        DATE               DATE
    time64[us]         TIME        TIME               TIME(6)
    string             TEXT        TEXT               LONGTEXT (key columns: VARCHAR(255))
    binary             BLOB        BYTEA              LONGBLOB (key columns: VARBINARY(255))

SQLite integers are always INTEGER so a single integer key stays SQLite's fast rowid alias.
Types read back through ``core.types.arrow_type`` give the same canonical type again, so a table
created here round-trips value for value. ``create_table_sql`` is the readable twin of
``create_table``: the exact statement, for tests and for review.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

from sinc_pipeline.core import engines
from sinc_pipeline.core.errors import SchemaError

# Per-engine overrides of the generic type, keyed by (engine family, kind).
_MYSQL = {
    "timestamp": lambda t, key: mysql.DATETIME(fsp=6),
    "time": lambda t, key: mysql.TIME(fsp=6),
    "string": lambda t, key: sa.String(255) if key else mysql.LONGTEXT(),
    "binary": lambda t, key: sa.VARBINARY(255) if key else mysql.LONGBLOB(),
}
_SQLITE = {
    "int": lambda t, key: sa.Integer(),
}
_OVERRIDES: dict[str, dict[str, Callable[[pa.DataType, bool], sa.types.TypeEngine]]] = {
    "mysql": _MYSQL, "sqlite": _SQLITE, "postgresql": {},     # by engines.family
}


def _kind(t: pa.DataType) -> str | None:
    checks = [("bool", pa.types.is_boolean), ("int", pa.types.is_integer), ("float", pa.types.is_floating),
              ("decimal", pa.types.is_decimal), ("timestamp", pa.types.is_timestamp), ("date", pa.types.is_date),
              ("time", pa.types.is_time), ("string", lambda x: pa.types.is_string(x) or pa.types.is_large_string(x)),
              ("binary", lambda x: pa.types.is_binary(x) or pa.types.is_large_binary(x))]
    return next((name for name, check in checks if check(t)), None)


def _generic(t: pa.DataType, kind: str) -> sa.types.TypeEngine:
    if kind == "int":
        return {8: sa.SmallInteger(), 16: sa.SmallInteger(), 32: sa.Integer()}.get(t.bit_width, sa.BigInteger())
    if kind == "decimal":
        return sa.Numeric(t.precision, t.scale, asdecimal=True)
    if kind == "timestamp":
        return sa.DateTime(timezone=t.tz is not None)
    return {"bool": sa.Boolean(), "float": sa.Double(), "date": sa.Date(), "time": sa.Time(),
            "string": sa.Text(), "binary": sa.LargeBinary()}[kind]


def engine_family(dialect: str | sa.engine.Dialect) -> str:
    name = dialect if isinstance(dialect, str) else dialect.name
    if not engines.is_supported(name):
        raise SchemaError(f"Banco {name!r} não suportado para criar tabelas. Dica: {engines.SUPPORTED_HINT}.")
    return name


def column_type(t: pa.DataType, dialect: str, key: bool = False, where: str = "coluna") -> sa.types.TypeEngine:
    """The SQL type for a canonical Arrow type on ``dialect`` (``key``: part of the primary key)."""
    kind = _kind(t)
    if kind is None:
        raise SchemaError(f"{where}: tipo Arrow {t} sem tipo SQL correspondente. Dica: use os tipos canônicos "
                          "de types.arrow_type (inteiro, decimal, texto, data/hora, booleano, binário).")
    override = _OVERRIDES[engines.family(engine_family(dialect))].get(kind)
    return override(t, key) if override else _generic(t, kind)


def table_def(name: str, schema: pa.Schema, key: Sequence[str], dialect: str,
              metadata: sa.MetaData | None = None) -> sa.Table:
    """A ``sa.Table`` for ``schema``: key columns NOT NULL and the primary key, others nullable."""
    missing = [k for k in key if k not in schema.names]
    if not key or missing:
        raise SchemaError(f"Tabela {name!r}: chave {list(key)} inválida (colunas ausentes {missing or list(key)}). "
                          f"Dica: colunas disponíveis: {schema.names}.")
    cols = [sa.Column(f.name, column_type(f.type, dialect, f.name in key, f"tabela {name!r}, coluna {f.name!r}"),
                      primary_key=f.name in key, nullable=f.name not in key, autoincrement=False)
            for f in schema]
    return sa.Table(name, metadata if metadata is not None else sa.MetaData(), *cols)


def create_table_sql(name: str, schema: pa.Schema, key: Sequence[str], dialect: str) -> str:
    """The CREATE TABLE statement ``create_table`` runs on ``dialect``, as text."""
    d = engines.dialect(engine_family(dialect))
    return str(CreateTable(table_def(name, schema, key, dialect)).compile(dialect=d)).strip()


def create_table(conn: Connection, name: str, schema: pa.Schema, key: Sequence[str]) -> sa.Table:
    """Create ``name`` on the connection's engine (inside the caller's transaction)."""
    table = table_def(name, schema, key, conn.dialect.name)
    table.create(conn)
    return table
