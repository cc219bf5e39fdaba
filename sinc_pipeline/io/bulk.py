"""Fast bulk loading of Arrow data into a table, by the fastest path each engine offers.

PostgreSQL: COPY FROM STDIN through psycopg, as CSV written by Arrow when every column's type has
the same text in CSV as psycopg's own dumpers give it (``apply_pg.csv_text``: no Python value per
row), else one ``write_row`` per row; SQLite: the sqlite3 module's executemany on the
raw connection; MariaDB: executemany of multi-row INSERTs through PyMySQL. Names are quoted by
SQLAlchemy's identifier preparer, values are always bound.
"""
from __future__ import annotations

import io
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.io.apply_pg import CSV_OPTIONS, csv_text


def _sqlite_column(col: pa.Array | pa.ChunkedArray) -> list:
    """A column as the values SQLite stores, converted in Arrow rather than value by value:
    decimals as their exact text (NUMERIC affinity stores the number it spells), dates and
    timestamps as ISO text (the format SQLAlchemy writes), booleans as 0/1."""
    t = col.type
    if pa.types.is_decimal(t) or pa.types.is_temporal(t):
        col = pc.cast(col, pa.string())
    elif pa.types.is_boolean(t):
        col = pc.cast(col, pa.int64())
    return col.to_pylist()


def bulk_insert(conn: Connection, table: str, batches: Iterable[pa.RecordBatch] | pa.Table,
                columns: dict[str, str] | None = None) -> int:
    """Insert every row of ``batches`` into ``table`` (inside the caller's transaction).

    ``columns`` maps Arrow column names to the table's names (default: the same names).
    """
    if isinstance(batches, pa.Table):
        batches = batches.to_batches(max_chunksize=50_000)
    total = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        names = [(columns or {}).get(c, c) for c in batch.schema.names]
        sql = bulk_insert_sql(conn, table, names)
        raw = conn.connection.driver_connection
        if conn.dialect.name == "postgresql" and all(csv_text(f.type) for f in batch.schema):
            buf = io.BytesIO()
            pcsv.write_csv(batch, buf, CSV_OPTIONS)
            with raw.cursor().copy(sql + " WITH (FORMAT csv)") as copy:
                copy.write(buf.getbuffer())
        elif conn.dialect.name == "postgresql":
            with raw.cursor().copy(sql) as copy:
                for row in zip(*[c.to_pylist() for c in batch.columns]):
                    copy.write_row(row)
        elif conn.dialect.name == "sqlite":
            raw.executemany(sql, zip(*[_sqlite_column(c) for c in batch.columns]))
        else:
            with raw.cursor() as cur:
                cur.executemany(sql, list(zip(*[c.to_pylist() for c in batch.columns])))
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
