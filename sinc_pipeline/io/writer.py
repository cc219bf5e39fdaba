"""Writing changes to one side, with a pure twin for every statement.

``insert_stmt`` / ``update_stmt`` / ``delete_stmt`` build SQLAlchemy statements (every name is
quoted by SQLAlchemy and every value is a bound parameter; nothing is formatted into SQL);
``*_sql`` compile them for a dialect so tests and readers can see the exact SQL. ``apply``
executes a unit's changes on one connection (inside the caller's transaction): deletes
children-first, then inserts and updates parents-first (rows ordered under foreign keys by
``io/ordered.py``). ``execute`` (optional) runs each batch instead of ``conn.execute``
(``io/isolate.py`` uses it to isolate the rows a database refuses).

Each operation's rows take the engine's fast path (``plan``): ``Prepared`` on SQLite (the
driver's executemany of tuples), COPY into a temporary table and one set-based statement on
PostgreSQL (``io/apply_pg.py``), tuples and a temporary table joined to the target on MariaDB
(``io/apply_mysql.py``). A fast path is an object with ``path`` (its name), ``rows(part, names,
extra)`` (a batch's parameters, sliceable) and ``run(conn, params)``; None leaves the batch to
SQLAlchemy's executemany of dicts (the generic path).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core import engines
from sinc_pipeline.io import apply_mysql, apply_pg
from sinc_pipeline.io.fkorder import links
from sinc_pipeline.sync.diff import Changes

BATCH = 5_000


def _where(table: sa.Table, key: Sequence[str], filters: dict) -> list:
    conds = [table.c[k] == sa.bindparam(f"_k{i}") for i, k in enumerate(key)]
    conds += [table.c[c] == sa.literal(v) for c, v in filters.items()]
    return conds


def insert_stmt(table: sa.Table) -> sa.Insert:
    return sa.insert(table)


def update_stmt(table: sa.Table, key: Sequence[str], columns: Sequence[str], filters: dict) -> sa.Update:
    values = {c: sa.bindparam(f"_v{i}") for i, c in enumerate(columns)}
    return sa.update(table).where(*_where(table, key, filters)).values(values)


def delete_stmt(table: sa.Table, key: Sequence[str], filters: dict) -> sa.Delete:
    return sa.delete(table).where(*_where(table, key, filters))


def compile_sql(stmt, dialect: sa.engine.Dialect | str) -> str:
    if isinstance(dialect, str):
        dialect = engines.dialect(dialect)
    return str(stmt.compile(dialect=dialect))


def insert_sql(table: sa.Table, columns: Sequence[str], dialect: str) -> str:
    return compile_sql(insert_stmt(table).values({c: sa.bindparam(c) for c in columns}), dialect)


def update_sql(table: sa.Table, key: Sequence[str], columns: Sequence[str], filters: dict, dialect: str) -> str:
    return compile_sql(update_stmt(table, key, columns, filters), dialect)


def delete_sql(table: sa.Table, key: Sequence[str], filters: dict, dialect: str) -> str:
    return compile_sql(delete_stmt(table, key, filters), dialect)


@dataclass
class Target:
    """Where one table's changes go: the physical table, names and the side's filter."""
    table: sa.Table
    physical: dict[str, str]     # logical -> physical
    key: list[str]               # logical key used for updates/deletes
    filters: dict                # physical col -> value, added to every UPDATE/DELETE WHERE
    constants: dict              # physical col -> value, added to every inserted row


Hook = Callable[[str, str, int], None] | None


@dataclass(frozen=True)
class Batch:
    """One executemany of ``apply``: the operation, the target, its rows (logical names, Arrow),
    and where ``rows`` starts among the operation's rows."""
    op: str                      # insert | update | delete
    target: Target
    rows: pa.Table
    start: int


Execute = Callable[[Connection, object, list, Batch], int] | None
"""Runs one batch's statement (``run_batch``) with its parameters; returns the rows written."""


def _params(rows: pa.Table, names: dict[str, str], extra: dict | None = None) -> list[dict]:
    """One batch of rows as executemany parameters: column ``c`` bound as ``names[c]``. Built a
    column at a time (``to_pylist`` per column, then zipped), never for more than one batch."""
    cols = [c for c in rows.column_names if c in names]
    values = [rows.column(c).to_pylist() for c in cols]
    keys = [names[c] for c in cols]
    extra = dict(extra or {})
    return [{**dict(zip(keys, vs)), **extra} for vs in zip(*values)] if cols else [dict(extra)] * rows.num_rows


@dataclass(frozen=True)
class Prepared:
    """A statement compiled once for the connection's dialect and run by the driver with one
    tuple per row (``conn.exec_driver_sql``: SQLAlchemy's error classes and events still apply):
    no dict per row and no per-row parameter assembly. Values go through SQLAlchemy's own bind
    processors, a column at a time, so the driver receives exactly what ``conn.execute`` sends."""
    sql: str
    order: tuple[str, ...]           # bind names, in the statement's positional order
    processors: dict                 # bind name -> SQLAlchemy's bind processor
    fixed: dict                      # bind name -> value of the binds no row supplies (filters)
    path = "prepared"

    def run(self, conn: Connection, params: list[tuple]) -> None:
        conn.exec_driver_sql(self.sql, params)

    def rows(self, rows: pa.Table, names: dict[str, str], extra: dict | None = None) -> list[tuple]:
        by_name = {names[c]: c for c in rows.column_names if c in names}
        columns = []
        for name in self.order:
            proc = self.processors.get(name)
            if name in by_name:
                values = rows.column(by_name[name]).to_pylist()
                columns.append(values if proc is None else [None if v is None else proc(v) for v in values])
            else:
                v = (extra or {}).get(name, self.fixed.get(name))
                columns.append([v if proc is None or v is None else proc(v)] * rows.num_rows)
        return list(zip(*columns)) if columns else [()] * rows.num_rows


def prepare(conn: Connection, stmt, keys: Sequence[str]) -> Prepared | None:
    """``stmt`` as a ``Prepared`` on SQLite (positional ``?`` binds), else None (the other engines
    keep ``conn.execute``: their dialects batch executemany themselves)."""
    if conn.dialect.name != "sqlite":
        return None
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(keys) if isinstance(stmt, sa.Insert) else None)
    order = tuple(compiled.positiontup or ())
    fixed = {k: v for k, v in compiled.construct_params(_check=False).items() if v is not None}
    return Prepared(str(compiled), order, dict(compiled._bind_processors), fixed)


BULK = {"postgresql": apply_pg.plan, "mysql": apply_mysql.plan, "mariadb": apply_mysql.plan}
"""The server engines' fast paths, by dialect name (``plan(conn, op, rows, physical, key, filters,
extra, table)``)."""


def plan(conn: Connection, stmt, op: str, t: Target, rows: pa.Table, keys: Sequence[str], extra: dict | None):
    """The fast path of one operation's ``rows`` on ``t`` for this connection's engine, or None
    (SQLAlchemy's executemany of dicts with ``stmt``)."""
    if conn.dialect.name == "sqlite":
        return prepare(conn, stmt, keys)
    bulk = BULK.get(conn.dialect.name)
    return None if bulk is None else bulk(conn, op, rows, t.physical, t.key, t.filters, extra, t.table)


def run_batch(conn: Connection, stmt, params) -> None:
    """One batch: a fast path (``plan``) runs itself, a SQLAlchemy statement is an executemany."""
    if isinstance(stmt, sa.sql.ClauseElement):
        conn.execute(stmt, params)
    else:
        stmt.run(conn, params)


def _run(conn: Connection, stmt, rows: pa.Table, names: dict[str, str], op: str, t: Target, hook: Hook,
         extra: dict | None = None, execute: Execute = None) -> int:
    """executemany in batches of ``BATCH`` rows, converting one batch at a time (memory stays flat
    whatever the backlog); ``hook(op, table, rows_so_far)`` after each batch (tests inject faults).
    Each engine's fast path is chosen once for all the batches (``plan``)."""
    n, table = 0, t.table.name
    keys = [names[c] for c in rows.column_names if c in names] + list(extra or {})
    prepared = plan(conn, stmt, op, t, rows, keys, extra)
    for start in range(0, rows.num_rows, BATCH):
        part = rows.slice(start, BATCH)
        chunk = _params(part, names, extra) if prepared is None else prepared.rows(part, names, extra)
        try:
            if execute is None:
                run_batch(conn, prepared or stmt, chunk)
                n += len(chunk)
            else:
                n += execute(conn, prepared or stmt, chunk, Batch(op, t, part, start))
        except Exception as err:
            err.sinc_table = table   # which table the write was on, for core.errors.naming_failures
            raise
        if hook:
            hook(op, table, n)
    return n


def apply_deletes(conn: Connection, t: Target, keys: pa.Table, hook: Hook = None, execute: Execute = None) -> int:
    if not keys.num_rows:
        return 0
    stmt = delete_stmt(t.table, [t.physical[k] for k in t.key], t.filters)
    return _run(conn, stmt, keys.select(t.key), {k: f"_k{i}" for i, k in enumerate(t.key)}, "delete",
                t, hook, execute=execute)


def apply_inserts(conn: Connection, t: Target, rows: pa.Table, hook: Hook = None, execute: Execute = None) -> int:
    if not rows.num_rows:
        return 0
    return _run(conn, insert_stmt(t.table), rows, t.physical, "insert", t, hook, t.constants, execute)


def apply_updates(conn: Connection, t: Target, rows: pa.Table, hook: Hook = None, execute: Execute = None) -> int:
    value_cols = [c for c in rows.column_names if c not in t.key]
    if not rows.num_rows or not value_cols:
        return 0
    stmt = update_stmt(t.table, [t.physical[k] for k in t.key], [t.physical[c] for c in value_cols], t.filters)
    names = {**{k: f"_k{i}" for i, k in enumerate(t.key)}, **{c: f"_v{i}" for i, c in enumerate(value_cols)}}
    return _run(conn, stmt, rows, names, "update", t, hook, execute=execute)


def apply(conn: Connection, items: list[tuple[Target, Changes]], hook: Hook = None,
          execute: Execute = None) -> list[dict]:
    """Apply a unit (items parents-first): deletes children-first, then inserts and updates
    parents-first. Where the written side declares foreign keys between the items (a table
    referencing itself too), ``io/ordered.py`` orders the rows as well."""
    found = links([t for t, _ in items])
    if found:
        from sinc_pipeline.io.ordered import apply_ordered   # here: io/ordered.py imports this module
        return apply_ordered(conn, items, found, hook, execute)
    counts = [{"inserted": 0, "updated": 0, "deleted": 0} for _ in items]
    for i in reversed(range(len(items))):
        t, ch = items[i]
        counts[i]["deleted"] = apply_deletes(conn, t, ch.deletes, hook, execute)
    for i, (t, ch) in enumerate(items):
        counts[i]["inserted"] = apply_inserts(conn, t, ch.inserts, hook, execute)
        counts[i]["updated"] = apply_updates(conn, t, ch.updates, hook, execute)
    return counts
