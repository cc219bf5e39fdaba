"""Safe cursor positions: compared in the column's own terms, never moved into the future.

- A zone-aware column (PostgreSQL ``timestamptz``) compares with a position bound as UTC, so a
  session in ``America/Sao_Paulo`` reads the same rows as one in UTC (positions are naive UTC,
  as every timestamp read into Arrow is).
- A row whose cursor is later than the source database's current time plus
  ``cursor_future_minutes`` (a POS with its clock in 2099) is synced, but not taken as the new
  position: taking it would skip every later row of that table for good. Such rows are counted
  (``cursor_no_futuro``), said once per table and run, and re-read on every run until their
  clock is fixed.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

FUTURE_NOTE = "cursor_no_futuro"


def zone_aware(col) -> bool:
    return bool(getattr(col.type, "timezone", False))


def bindable(col, value):
    """``value`` (a position, naive UTC for timestamps) as ``col`` compares it."""
    if isinstance(value, dt.datetime) and value.tzinfo is None and zone_aware(col):
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def naive_utc(value):
    """A value the database returned (a zone-aware datetime from some drivers) as a position."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def now_sql(dialect: str, aware: bool) -> str:
    """The database's current time in the terms its cursor columns hold: UTC for zone-aware
    columns, the session's local time for plain ones (what an application writing ``now()``
    into a plain column stores)."""
    if dialect == "postgresql":
        return "SELECT now() AT TIME ZONE 'UTC'" if aware else "SELECT LOCALTIMESTAMP"
    if dialect in ("mysql", "mariadb"):
        return "SELECT UTC_TIMESTAMP(6)" if aware else "SELECT NOW(6)"
    return "SELECT datetime('now')" if aware else "SELECT datetime('now', 'localtime')"


def future_limit(conn, col, minutes: int) -> dt.datetime | None:
    """The latest cursor value taken as a position (None: the column is not a timestamp)."""
    if not isinstance(col.type, sa.DateTime):
        return None
    now = conn.exec_driver_sql(now_sql(conn.dialect.name, zone_aware(col))).scalar()
    if isinstance(now, str):
        now = dt.datetime.fromisoformat(now)
    return naive_utc(now) + dt.timedelta(minutes=minutes)


def position_of(table: pa.Table, column: str, limit) -> tuple[object, int]:
    """(the highest cursor value not after ``limit``, how many rows are after it)."""
    if table.num_rows == 0:
        return None, 0
    values = table.column(column)
    if limit is None or not pa.types.is_timestamp(values.type):
        return pc.max(values).as_py(), 0
    late = pc.greater(values, pa.scalar(limit, values.type))
    future = pc.sum(late).as_py() or 0
    kept = pc.filter(values, pc.invert(pc.fill_null(late, False)))
    return (pc.max(kept).as_py() if len(kept) else None), future
