"""Chunked reads by key range: a table of any size read in pieces of about ``chunk_rows`` rows.

The ranges come from ``ranges.py`` (the one rule for choosing and splitting them).

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
from sinc_pipeline.io.ranges import Range, plan_ranges, range_column, range_condition
from sinc_pipeline.io.reader import iter_batches, read_fastest, select_sql

log = logging.getLogger(__name__)


def read_chunks(conn: Connection, table: sa.Table, schema: pa.Schema, key: list[str], chunk_rows: int,
                filters: dict | None = None, fast: FastReader | None = None, column: str | None = None
                ) -> Iterator[tuple[Range | None, pa.Table]]:
    """The rows of ``table`` (columns ``schema.names``, values cast to ``schema``, rows matching
    ``filters``) as (key range, Arrow table) pieces of about ``chunk_rows`` rows, so memory stays
    bounded. Ranges are on ``column`` (default: ``ranges.range_column``); without one, one streaming
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
    ranges = plan_ranges([(conn, table, column, filters)], chunk_rows)
    col = table.c[column]
    for rng in ranges or [None]:
        yield rng, read_fastest(conn, table, ident, filters, range_condition(col, rng), schema, chunk_rows, fast)


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
