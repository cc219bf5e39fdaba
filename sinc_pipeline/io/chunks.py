"""Chunked reads by key range: a table of any size read in pieces of about ``chunk_rows`` rows.

``read_chunks`` yields (key range, Arrow table) pieces, each read by the fastest safe path of its
engine (ADBC on PostgreSQL, SQLite's JSON rendering, else the DB-API); ``prefetch`` reads the
next piece in a background thread while the current one is processed. Used by the snapshot dump,
the restore and criar_base_loja.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.io.fastread import FastReader
from sinc_pipeline.io.reader import iter_batches, read_fastest, select_sql

log = logging.getLogger(__name__)
Range = tuple[int | None, int | None]   # half-open; None = unbounded


def range_column(conn: Connection, table: sa.Table, schema: pa.Schema, key: list[str],
                 filters: dict | None = None) -> str | None:
    """An integer key column that leads an index once the filter columns are fixed, or None.
    Ranges on it are index range scans (an unindexed column would mean a full scan per chunk)."""
    filters = filters or {}
    insp = sa.inspect(conn)
    indexes = [insp.get_pk_constraint(table.name).get("constrained_columns") or []]
    indexes += [ix.get("column_names") or [] for ix in insp.get_indexes(table.name)]
    for cols in indexes:
        rest = [c for c in cols if c not in filters]
        if rest and rest[0] in key and rest[0] in schema.names and pa.types.is_integer(schema.field(rest[0]).type):
            return rest[0]
    return None


def key_ranges(conn: Connection, table: sa.Table, column: str, filters: dict, chunk_rows: int) -> list[Range] | None:
    """Ranges of ``column`` of about ``chunk_rows`` rows each, or None when one read is enough.

    The first range has no lower bound and the last no upper bound (None), so every row — of
    this table, or of another state of it such as the previous snapshot — is in exactly one."""
    col = table.c[column]
    stmt = sa.select(sa.func.count(), sa.func.min(col), sa.func.max(col)).select_from(table)
    for c, v in filters.items():
        stmt = stmt.where(table.c[c] == v)
    count, lo, hi = conn.execute(stmt).one()
    if count <= chunk_rows or lo is None:
        return None
    lo, hi = int(lo), int(hi) + 1
    step = max(1, -(-(hi - lo) // -(-count // chunk_rows)))
    bounds = list(range(lo + step, hi, step))
    return list(zip([None] + bounds, bounds + [None]))


def range_condition(col: sa.ColumnElement, rng: Range) -> sa.ColumnElement:
    lo, hi = rng
    conds = ([col >= lo] if lo is not None else []) + ([col < hi] if hi is not None else [])
    return sa.and_(*conds)


def read_chunks(conn: Connection, table: sa.Table, schema: pa.Schema, key: list[str], chunk_rows: int,
                filters: dict | None = None, fast: FastReader | None = None, column: str | None = None
                ) -> Iterator[tuple[Range | None, pa.Table]]:
    """The rows of ``table`` (columns ``schema.names``, values cast to ``schema``, rows matching
    ``filters``) as (key range, Arrow table) pieces of about ``chunk_rows`` rows, so memory stays
    bounded. Ranges are on ``column`` (default: ``range_column``); without one, one streaming
    read in batches of ``chunk_rows`` (range None)."""
    filters = dict(filters or {})
    ident = {c: c for c in [*schema.names, *filters]}
    column = column or range_column(conn, table, schema, key, filters)
    if column is None:
        stmt = select_sql(table, ident, schema.names, filters)
        if conn.dialect.name != "sqlite":
            stmt = stmt.execution_options(stream_results=True)
        for batch in iter_batches(conn, stmt, schema, chunk_rows):
            yield None, pa.Table.from_batches([batch], schema)
        return
    ranges = key_ranges(conn, table, column, filters, chunk_rows)
    col = table.c[column]
    for rng in ranges or [None]:
        extra = None if rng is None else range_condition(col, rng)
        yield rng, read_fastest(conn, table, ident, filters, extra, schema, chunk_rows, fast)


def prefetch(items: Iterator, depth: int = 2) -> Iterator:
    """Produce ``items`` in a background thread, ``depth`` ahead of the consumer, so the next
    chunk is read (the engines and Arrow release the GIL) while this one is hashed and written.
    The producer is always stopped and joined before this generator returns."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((True, done))
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            q.put((False, err))

    worker = threading.Thread(target=produce, name="sinc-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()
