"""Fast bulk loading of Arrow data into a table, by the fastest path each engine offers.

PostgreSQL: COPY FROM STDIN through psycopg; SQLite: the sqlite3 module's executemany on the
raw connection; MariaDB: executemany of multi-row INSERTs through PyMySQL. Names are quoted by
SQLAlchemy's identifier preparer, values are always bound.
"""
from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _sqlite_value(v):
    import datetime as dt
    import decimal
    if isinstance(v, decimal.Decimal):
        return str(v)  # NUMERIC affinity stores it as the exact number it spells
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ", timespec="microseconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def bulk_insert(conn: Connection, table: str, batches: Iterable[pa.RecordBatch] | pa.Table,
                columns: dict[str, str] | None = None) -> int:
    """Insert every row of ``batches`` into ``table`` (inside the caller's transaction).

    ``columns`` maps Arrow column names to the table's names (default: the same names).
    """
    if isinstance(batches, pa.Table):
        batches = batches.to_batches(max_chunksize=50_000)
    dialect = conn.dialect.name
    total = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        names = [(columns or {}).get(c, c) for c in batch.schema.names]
        cols = ", ".join(_quote(conn, c) for c in names)
        qt = _quote(conn, table)
        if dialect == "postgresql":
            raw = conn.connection.driver_connection
            with raw.cursor().copy(f"COPY {qt} ({cols}) FROM STDIN") as copy:
                for row in zip(*[c.to_pylist() for c in batch.columns]):
                    copy.write_row(row)
        elif dialect == "sqlite":
            raw = conn.connection.driver_connection
            marks = ", ".join("?" for _ in names)
            data = zip(*[[_sqlite_value(v) for v in c.to_pylist()] for c in batch.columns])
            raw.executemany(f"INSERT INTO {qt} ({cols}) VALUES ({marks})", data)
        else:
            raw = conn.connection.driver_connection
            marks = ", ".join("%s" for _ in names)
            data = list(zip(*[c.to_pylist() for c in batch.columns]))
            with raw.cursor() as cur:
                cur.executemany(f"INSERT INTO {qt} ({cols}) VALUES ({marks})", data)
        total += batch.num_rows
    return total


def bulk_insert_sql(conn_or_dialect, table: str, names: list[str]) -> str:
    """The statement ``bulk_insert`` runs, for reading (COPY on PostgreSQL)."""
    dialect = conn_or_dialect if isinstance(conn_or_dialect, sa.engine.Dialect) else conn_or_dialect.dialect
    q = dialect.identifier_preparer.quote
    cols = ", ".join(q(c) for c in names)
    if dialect.name == "postgresql":
        return f"COPY {q(table)} ({cols}) FROM STDIN"
    marks = ", ".join(("?" if dialect.name == "sqlite" else "%s") for _ in names)
    return f"INSERT INTO {q(table)} ({cols}) VALUES ({marks})"
