"""What a table contributes to a snapshot: every row (``completa``), or the changes since the
previous snapshot (``incremental``), comparing every column of every row (cursors are not
trusted for this). For a SQLite store the copy read by the previous snapshot is kept next to the
snapshots and SQLite compares the two copies itself; otherwise each key range of the table is
compared with the previous state rebuilt from the Parquet chain.
"""
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.io.chunks import prefetch, read_chunks
from sinc_pipeline.io.ranges import Range, range_column
from sinc_pipeline.io.reader import iter_batches
from sinc_pipeline.snapshots import (DELETE, UPSERT, LocalStorage, Manifest,
                        incremental_changes,
                        incremental_schema, materialize_chain)

from sinc_pipeline.snapshots.source import PREVIOUS, TableSource


def full_batches(conn: Connection, src: TableSource, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Every row, read one key range ahead of the writer."""
    pieces = prefetch(read_chunks(conn, src.table, src.schema, src.key, chunk_rows))
    try:
        for _, piece in pieces:
            yield from piece.to_batches()
    finally:
        pieces.close()


def _slice(previous: pa.Table, column: str, rng: Range, sorted_keys) -> pa.Table:
    lo, hi = rng
    if sorted_keys is not None:                 # previous is sorted by key: a range is a slice
        a = 0 if lo is None else int(np.searchsorted(sorted_keys, lo, side="left"))
        b = len(sorted_keys) if hi is None else int(np.searchsorted(sorted_keys, hi, side="left"))
        return previous.slice(a, b - a)
    values, mask = previous.column(column), pa.scalar(True)
    if lo is not None:
        mask = pc.and_(mask, pc.greater_equal(values, lo))
    if hi is not None:
        mask = pc.and_(mask, pc.less(values, hi))
    return previous.filter(mask)


def parquet_changes(conn: Connection, src: TableSource, storage: LocalStorage, chain: list[Manifest],
                    chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Changes since the end of ``chain``: each key range of the table against the same range of
    the previous state (rebuilt from the Parquet files while the first range is read)."""
    column = range_column(conn, src.table, src.schema, src.key)
    pieces = prefetch(read_chunks(conn, src.table, src.schema, src.key, chunk_rows, column=column))
    try:
        previous = materialize_chain(storage, chain, src.name)
        sorted_keys = previous.column(column).to_numpy() if column == src.key[0] and previous.num_rows else None
        whole: list[pa.Table] = []
        for rng, current in pieces:
            if rng is None:
                whole.append(current)
                continue
            yield from incremental_changes(_slice(previous, column, rng, sorted_keys), current, src.key).to_batches()
        if whole:                               # no range column: the table in one piece
            yield from incremental_changes(previous, pa.concat_tables(whole), src.key).to_batches()
    finally:
        pieces.close()


def previous_table(conn: Connection, src: TableSource) -> sa.Table | None:
    """The same table in the ATTACHed previous copy, when SQLite can compare the two by key:
    same columns and declared types, and the store key is the primary key on both sides."""
    try:
        prev = sa.Table(src.name, sa.MetaData(), schema=PREVIOUS, autoload_with=conn)
    except sa.exc.NoSuchTableError:
        return None
    same = [(c.name, str(c.type)) for c in prev.c] == [(c.name, str(c.type)) for c in src.table.c]
    keyed = sorted(c.name for c in prev.primary_key) == sorted(c.name for c in src.table.primary_key) == sorted(src.key)
    return prev if same and keyed else None


def sqlite_changes(conn: Connection, src: TableSource, prev: sa.Table, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Changes between the previous copy and this one, found by SQLite itself (two joins on the
    primary key; values compared with ``IS NOT`` under BINARY collation, so NULLs, types and
    case count): only the changed rows and deleted keys are converted to Arrow."""
    cur, key = src.table, src.key
    out = incremental_schema(src.schema, key)

    def same_key(k: str):       # text keys byte for byte: a NOCASE column must not hide a new key
        text = pa.types.is_string(src.schema.field(k).type)
        return (cur.c[k].collate("BINARY") if text else cur.c[k]) == prev.c[k]

    on = sa.and_(*[same_key(k) for k in key])
    values = [c for c in src.schema.names if c not in key]
    differs = sa.or_(prev.c[key[0]].is_(None), *[cur.c[c].collate("BINARY").is_not(prev.c[c]) for c in values])
    upserts = sa.select(*[cur.c[c].label(c) for c in src.schema.names]).select_from(
        cur.outerjoin(prev, on)).where(differs)
    deleted = sa.select(*[prev.c[k].label(k) for k in key]).select_from(prev.outerjoin(cur, on)).where(
        cur.c[key[0]].is_(None))
    for batch in iter_batches(conn, upserts, src.schema, chunk_rows):
        ops = pa.array([UPSERT] * batch.num_rows, pa.string())
        yield pa.RecordBatch.from_arrays([*batch.columns, ops], schema=out)
    key_schema = pa.schema([src.schema.field(k) for k in key])
    for batch in iter_batches(conn, deleted, key_schema, chunk_rows):
        n = batch.num_rows
        cols = [batch.column(f.name) if f.name in key else pa.nulls(n, f.type) for f in src.schema]
        yield pa.RecordBatch.from_arrays([*cols, pa.array([DELETE] * n, pa.string())], schema=out)
