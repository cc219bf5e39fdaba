"""No echo: the sync's own writes are not captured back into the change table.

``applying(conn)`` wraps the apply of a unit, inside the target's write transaction:

* PostgreSQL: ``SET LOCAL sinc.aplicando = 'on'`` — the capture trigger returns at once when
  ``current_setting('sinc.aplicando', true)`` says so; the setting ends with the transaction.
* MariaDB: ``SET @sinc_aplicando = 1`` for the session, checked by the triggers, and reset to
  NULL at the end whatever happens (the connection goes back to the pool).
* SQLite: triggers cannot see the connection. The sync's write transaction holds SQLite's one
  write lock from its BEGIN IMMEDIATE, so every entry made inside it is the sync's own: the
  highest number is noted at the start and the entries above it are deleted at the end, in
  the same transaction (a crash rolls both back).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.capture.sql import CHANGES, engine_family


def mark_applying(conn: Connection):
    """Call at the start of an apply transaction; returns what ``end_applying`` needs."""
    engine = engine_family(conn.dialect.name)
    if engine == "postgresql":
        conn.exec_driver_sql("SET LOCAL sinc.aplicando = 'on'")
        return None
    if engine == "mysql":
        conn.exec_driver_sql("SET @sinc_aplicando = 1")
        return None
    has = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (CHANGES,)).first()
    if has is None:
        return None
    return int(conn.exec_driver_sql(f"SELECT COALESCE(MAX(seq), 0) FROM {CHANGES}").scalar())


def end_applying(conn: Connection, token) -> None:
    """Call after the apply's writes, before the commit (SQLite: drops the sync's own entries)."""
    engine = engine_family(conn.dialect.name)
    if engine == "sqlite" and token is not None:
        conn.execute(sa.text(f"DELETE FROM {CHANGES} WHERE seq > :s"), {"s": token})
    elif engine == "mysql":
        reset_applying(conn)


def reset_applying(conn: Connection) -> None:
    if engine_family(conn.dialect.name) == "mysql":
        with contextlib.suppress(Exception):   # a broken connection is discarded by the pool anyway
            conn.exec_driver_sql("SET @sinc_aplicando = NULL")


@contextlib.contextmanager
def applying(conn: Connection) -> Iterator[None]:
    token = mark_applying(conn)
    try:
        yield
        end_applying(conn, token)
    finally:
        reset_applying(conn)
