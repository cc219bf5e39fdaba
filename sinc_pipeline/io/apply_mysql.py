"""MariaDB/MySQL's bulk apply: tuples built from the Arrow columns, never a dict per row.

- inserts (``executemany``): one tuple per row (SQLAlchemy's bind processors, a column at a
  time) and the driver's ``executemany`` of ``INSERT ... VALUES (%s, ...)``, which PyMySQL
  sends as multi-row INSERTs;
- updates and deletes (``temp-join``): the batch inserted the same way into a temporary table
  (``CREATE TEMPORARY TABLE _sinc_lote ENGINE=InnoDB SELECT <cols> FROM t LIMIT 0``: the
  target's column types and character sets), then one multi-table ``UPDATE t, _sinc_lote SET
  ... WHERE <key> AND <filters>`` / ``DELETE FROM t USING t, _sinc_lote WHERE ...``
  (``io/staging.py``). A per-row UPDATE is one round trip each (10,000 updates: ~2 s here, the
  join ~0.3 s, ``bench/apply_bench.py``).

CREATE/DROP TEMPORARY TABLE do not end the transaction; the staging table is InnoDB, so a
savepoint rolled back undoes its rows too. Its creation is not undone by a rollback, so every
batch drops a leftover first (``DROP TEMPORARY TABLE IF EXISTS``). A user without CREATE
TEMPORARY TABLES gets the generic path for updates and deletes (``staging.can_stage``, a warning).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.io.staging import TEMP, can_stage, columns_of, processors, staged_stmt, tuples


def values_sql(table: sa.Table | str, columns: Sequence[str], dialect: sa.engine.Dialect) -> str:
    """``INSERT INTO t (cols) VALUES (%s, ...)``: the statement PyMySQL's executemany batches."""
    p = dialect.identifier_preparer
    name = p.quote(table) if isinstance(table, str) else p.format_table(table)
    return (f"INSERT INTO {name} ({', '.join(p.quote(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})")


def temp_sql(table: sa.Table, columns: Sequence[str], dialect: sa.engine.Dialect) -> str:
    p = dialect.identifier_preparer
    return (f"CREATE TEMPORARY TABLE {p.quote(TEMP)} ENGINE=InnoDB SELECT "
            f"{', '.join(p.quote(c) for c in columns)} FROM {p.format_table(table)} LIMIT 0")


def drop_sql(dialect: sa.engine.Dialect) -> str:
    return f"DROP TEMPORARY TABLE IF EXISTS {dialect.identifier_preparer.quote(TEMP)}"


@dataclass(frozen=True)
class TupleBatch:
    """One operation's batches on one table: tuples into the target (inserts) or into the staging
    table joined to it (updates, deletes)."""
    op: str
    path: str                       # executemany | temp-join
    table: sa.Table
    logical: tuple[str, ...]
    columns: tuple[str, ...]
    extra: dict
    procs: tuple
    stmt: object | None             # the set-based statement of temp-join

    def rows(self, part: pa.Table, names: dict, extra: dict | None = None) -> list[tuple]:
        return tuples(part, self.logical, self.extra, self.procs)

    def run(self, conn: Connection, params: list[tuple]) -> None:
        if not params:
            return
        d = conn.dialect
        if self.path == "executemany":
            conn.exec_driver_sql(values_sql(self.table, self.columns, d), list(params))
            return
        conn.exec_driver_sql(drop_sql(d))
        conn.exec_driver_sql(temp_sql(self.table, self.columns, d))
        conn.exec_driver_sql(values_sql(TEMP, self.columns, d), list(params))
        conn.execute(self.stmt)
        conn.exec_driver_sql(drop_sql(d))


def plan(conn: Connection, op: str, rows: pa.Table, physical: dict[str, str], key: Sequence[str],
         filters: dict, extra: dict | None, table: sa.Table) -> TupleBatch | None:
    logical, columns = columns_of(op, rows, physical, key, extra)
    if not columns:
        return None
    procs = processors(conn, table, columns)
    if op == "insert":
        return TupleBatch(op, "executemany", table, tuple(logical), tuple(columns), dict(extra or {}), procs, None)
    if not can_stage(conn):
        return None
    stmt = staged_stmt(op, table, columns, [physical[k] for k in key], filters)
    return TupleBatch(op, "temp-join", table, tuple(logical), tuple(columns), dict(extra or {}), procs, stmt)
