"""Reading a table side into Arrow, in chunks, under logical column names and canonical types."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .types import to_arrow


def select_sql(table: sa.Table, physical: dict[str, str], columns: Sequence[str], filters: dict,
               extra: sa.ColumnElement | None = None) -> sa.Select:
    """SELECT the logical ``columns`` (labelled) from ``table`` restricted by ``filters`` (logical names)."""
    stmt = sa.select(*[table.c[physical[c]].label(c) for c in columns])
    for col, value in filters.items():
        stmt = stmt.where(table.c[physical[col]] == value)
    if extra is not None:
        stmt = stmt.where(extra)
    return stmt


def iter_batches(conn: Connection, stmt: sa.Select, schema: pa.Schema, chunk_size: int) -> Iterator[pa.RecordBatch]:
    result = conn.execute(stmt.execution_options(yield_per=chunk_size))
    n = len(schema)
    for rows in result.partitions(chunk_size):
        cols = list(zip(*rows)) if rows else [[] for _ in range(n)]
        arrays = [to_arrow(list(cols[i]), schema.field(i).type) for i in range(n)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def read_table(conn: Connection, stmt: sa.Select, schema: pa.Schema, chunk_size: int) -> pa.Table:
    batches = list(iter_batches(conn, stmt, schema, chunk_size))
    return pa.Table.from_batches(batches, schema=schema)
