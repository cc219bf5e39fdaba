"""Sync state (cursor positions), kept on the side being written.

The position of a table's cursor is written in the same transaction as the rows it covers,
so a crash can neither skip nor double-apply rows: either both are committed or neither is.
"""
from __future__ import annotations

import datetime as dt
import decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.db import connect

STATE_TABLE = "sinc_estado"

metadata = sa.MetaData()
state_table = sa.Table(
    STATE_TABLE, metadata,
    sa.Column("loja", sa.String(64), primary_key=True),
    sa.Column("tabela", sa.String(128), primary_key=True),
    sa.Column("direcao", sa.String(16), primary_key=True),
    sa.Column("cursor_valor", sa.String(64)),
    sa.Column("cursor_tipo", sa.String(16)),
    sa.Column("atualizado_em", sa.DateTime),
    sa.Column("run_id", sa.String(64)),
)


def ensure_state_table(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


def prepare_state(url: str, role: str) -> None:
    """``sinc_estado`` exists on the written side: looked up by a read; created, when missing, in a
    write transaction taken first (SQLite: ``BEGIN IMMEDIATE``), so stores preparing it at once
    wait for each other instead of failing a stale read's upgrade with "database is locked"."""
    with connect(url, role) as conn:
        if sa.inspect(conn).has_table(STATE_TABLE):
            return
    with connect(url, role, write=True) as conn:
        ensure_state_table(conn)


def _encode(value) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, dt.datetime):
        return value.isoformat(), "datetime"
    if isinstance(value, dt.date):
        return value.isoformat(), "date"
    if isinstance(value, decimal.Decimal):
        return str(value), "decimal"
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, float):
        return repr(value), "float"
    return str(value), "str"


def _decode(text: str | None, kind: str | None):
    if text is None:
        return None
    return {
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "decimal": decimal.Decimal,
        "int": int,
        "float": float,
    }.get(kind, str)(text)


def get_cursor(conn: Connection, store: str, table: str, direction: str):
    if not sa.inspect(conn).has_table(STATE_TABLE):
        return None
    row = conn.execute(
        sa.select(state_table.c.cursor_valor, state_table.c.cursor_tipo).where(
            state_table.c.loja == store, state_table.c.tabela == table, state_table.c.direcao == direction)
    ).first()
    return _decode(*row) if row else None


def set_cursor(conn: Connection, store: str, table: str, direction: str, value, run_id: str | None) -> None:
    text, kind = _encode(value)
    where = (state_table.c.loja == store, state_table.c.tabela == table, state_table.c.direcao == direction)
    conn.execute(sa.delete(state_table).where(*where))
    conn.execute(sa.insert(state_table).values(
        loja=store, tabela=table, direcao=direction, cursor_valor=text, cursor_tipo=kind,
        atualizado_em=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), run_id=run_id))


# A table whose check found an unexplained difference (``sync/verify.py``) is marked for repair:
# a row of its own in ``sinc_estado`` (direction ``<direction>-reparo``). Its next sync compares
# the table in full (no cursor window, no journal) and deletes the mark in the same transaction.
REPAIR_SUFFIX = "-reparo"
REPAIR_KIND = "reparo"


def _repair_where(store: str, table: str, direction: str) -> tuple:
    return (state_table.c.loja == store, state_table.c.tabela == table,
            state_table.c.direcao == direction + REPAIR_SUFFIX)


def mark_repair(conn: Connection, store: str, table: str, direction: str, reason: str = "conferência") -> None:
    """Mark ``table`` of ``store`` for a full comparison at its next sync (idempotent)."""
    conn.execute(sa.delete(state_table).where(*_repair_where(store, table, direction)))
    conn.execute(sa.insert(state_table).values(
        loja=store, tabela=table, direcao=direction + REPAIR_SUFFIX, cursor_valor=reason[:64],
        cursor_tipo=REPAIR_KIND, atualizado_em=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)))


def repair_marked(conn: Connection, store: str, table: str, direction: str) -> bool:
    if not sa.inspect(conn).has_table(STATE_TABLE):
        return False
    return conn.execute(sa.select(sa.func.count()).select_from(state_table)
                        .where(*_repair_where(store, table, direction))).scalar() > 0


def clear_repair(conn: Connection, store: str, table: str, direction: str) -> None:
    conn.execute(sa.delete(state_table).where(*_repair_where(store, table, direction)))


def lookback(value, amount: int):
    """The position to re-read from: ``amount`` seconds (date/time) or units (numbers) below."""
    if isinstance(value, dt.datetime):
        return value - dt.timedelta(seconds=amount)
    if isinstance(value, dt.date):
        return value - dt.timedelta(days=max(1, amount // 86400))
    if isinstance(value, int | float | decimal.Decimal):
        return value - amount
    return value
