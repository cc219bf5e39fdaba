"""Progress of the long copies (snapshot, restore, a new store's base): a callback
``progress(table, rows_done, rows_total)`` called after every chunk; ``rows_total`` is 0 when it
is not known beforehand (an incremental snapshot writes only the changed rows). The Dagster side
passes one that logs (``defs/progress.py``); the core never logs progress itself."""
from __future__ import annotations

from typing import Callable, Iterator

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

Progress = Callable[[str, int, int], None]


def counted(batches: Iterator[pa.RecordBatch], table: str, total: int,
            progress: Progress | None) -> Iterator[pa.RecordBatch]:
    """Pass ``batches`` through, calling ``progress`` after each one; closing this closes them."""
    done = 0
    try:
        for batch in batches:
            yield batch
            done += batch.num_rows
            if progress is not None:
                progress(table, done, max(total, done) if total else 0)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def count_rows(conn: Connection, table: sa.Table, filters: dict | None = None) -> int:
    """Rows of ``table`` matching ``filters`` (column -> value), in the caller's snapshot."""
    stmt = sa.select(sa.func.count()).select_from(table)
    for col, value in (filters or {}).items():
        stmt = stmt.where(table.c[col] == value)
    return int(conn.execute(stmt).scalar() or 0)
