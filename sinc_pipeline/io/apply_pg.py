"""PostgreSQL's bulk apply: each batch COPied into a temporary table, then one set-based statement.

Per batch (``io/writer.py`` batches, ``BATCH`` rows): ``CREATE TEMP TABLE _sinc_lote ON COMMIT
DROP AS SELECT <cols> FROM t WITH NO DATA`` (the target's own column types, no constraints),
``COPY _sinc_lote FROM STDIN``, one ``INSERT INTO t SELECT ... FROM _sinc_lote`` / ``UPDATE t
SET ... FROM _sinc_lote WHERE <key> AND <filters>`` / ``DELETE FROM t USING _sinc_lote WHERE
...`` (``io/staging.py``; the joins as nested loops, ``_nested_loops``), then ``DROP TABLE``. All in the caller's transaction (and savepoint:
a batch that fails leaves nothing, the temporary table included).

Two ways into the COPY, chosen from the column types before anything runs (``choose``):

- ``copy-csv``: the batch's Arrow columns written as CSV by Arrow (no Python value per row) and
  parsed by the server into the column types; used when every column's text is what the
  parameter would have been (``_text_pairing``): integers, decimals (exact text), booleans, text,
  dates, naive timestamps and times into the matching kinds of column, with no SQLAlchemy bind
  processor on the target type (a ``Boolean`` processor of an Arrow bool is the identity);
- ``copy-rows``: one tuple per row through SQLAlchemy's bind processors (a column at a time) and
  psycopg's ``write_row`` (its own text dumpers): bytea, JSON, enums and other processed types.

A pairing neither way writes the same value as a bound parameter (a float into a NUMERIC: the
parameter is cast with 15 significant digits, the text keeps 17; an aware timestamp into a naive
column; a decimal into an INTEGER) is left to the generic path (``choose`` returns None), and
so is every batch of a user without the TEMPORARY privilege (``staging.can_stage``, a warning).
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pcsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.io.staging import (TEMP, ArrowRows, can_stage, columns_of, driver_error, processors,
                                      staged_stmt, tuples)

CSV_OPTIONS = pcsv.WriteOptions(include_header=False, quoting_style="needed")   # strings quoted: "" is not NULL


def temp_sql(table: sa.Table, columns: Sequence[str], dialect: sa.engine.Dialect) -> str:
    p = dialect.identifier_preparer
    cols = ", ".join(p.quote(c) for c in columns)
    return f"CREATE TEMP TABLE {p.quote(TEMP)} ON COMMIT DROP AS SELECT {cols} FROM {p.format_table(table)} WITH NO DATA"


def copy_sql(columns: Sequence[str], csv: bool, dialect: sa.engine.Dialect) -> str:
    p = dialect.identifier_preparer
    cols = ", ".join(p.quote(c) for c in columns)
    return f"COPY {p.quote(TEMP)} ({cols}) FROM STDIN" + (" WITH (FORMAT csv)" if csv else "")


def drop_sql(dialect: sa.engine.Dialect) -> str:
    return f"DROP TABLE {dialect.identifier_preparer.quote(TEMP)}"


def csv_text(t: pa.DataType) -> bool:
    """Is Arrow's CSV text of ``t`` what psycopg's text COPY of the Python value is (the same value
    once parsed, whatever the column)? Numbers, decimals, booleans, text, dates, naive timestamps,
    times; not bytes (bytea's escapes), float32 (its shortest text is not the double's), nested or
    dictionary types."""
    return (pa.types.is_null(t) or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t)
            or pa.types.is_integer(t) or pa.types.is_decimal(t) or t == pa.float64() or pa.types.is_date(t)
            or (pa.types.is_timestamp(t) and t.tz is None) or pa.types.is_time(t))


def _text_pairing(arrow_type: pa.DataType, col_type: sa.types.TypeEngine) -> str | None:
    """"csv" when Arrow's CSV text of ``arrow_type`` parses, in a column of ``col_type``, to the value
    the bound parameter gives; "rows" when only psycopg's own dumpers do; None when neither."""
    t = arrow_type
    if pa.types.is_null(t):
        return "csv"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "csv"                                   # psycopg binds str untyped: the server parses it too
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "rows" if isinstance(col_type, sa.types._Binary) else None
    if pa.types.is_boolean(t):
        return "csv" if isinstance(col_type, sa.Boolean) else None
    if pa.types.is_integer(t):
        return "csv" if isinstance(col_type, sa.Integer | sa.Numeric | sa.String) else None
    if pa.types.is_decimal(t):
        return "csv" if isinstance(col_type, sa.Numeric | sa.String) else None
    if pa.types.is_floating(t):     # float32's CSV text is its shortest repr, not the double psycopg sends
        return "csv" if t == pa.float64() and isinstance(col_type, sa.Float) else None
    if pa.types.is_date(t):
        return "csv" if isinstance(col_type, sa.Date | sa.DateTime) else None
    if pa.types.is_timestamp(t):
        return "csv" if t.tz is None and isinstance(col_type, sa.DateTime) else None
    if pa.types.is_time(t):
        return "csv" if isinstance(col_type, sa.Time) else None
    return None


def choose(conn: Connection, table: sa.Table, types: Sequence[pa.DataType], columns: Sequence[str]) -> str | None:
    """"copy-csv", "copy-rows", or None (the generic path) for staging ``columns`` of ``table``
    from Arrow columns of ``types``."""
    procs = processors(conn, table, columns)
    way = "copy-csv"
    for arrow_type, col, proc in zip(types, columns, procs):
        pairing = _text_pairing(arrow_type, table.c[col].type)
        if pairing is None:
            return None
        transparent = proc is None or (pa.types.is_boolean(arrow_type) and isinstance(table.c[col].type, sa.Boolean))
        if pairing == "rows" or not transparent:
            way = "copy-rows"
    return way


@dataclass(frozen=True)
class CopyBatch:
    """One operation's batches on one table, staged by COPY (see the module docstring)."""
    op: str
    path: str                       # copy-csv | copy-rows
    table: sa.Table
    logical: tuple[str, ...]        # the batch's logical columns, in staged order
    columns: tuple[str, ...]        # the staged (physical) columns: ``logical``'s, then the constants'
    extra: dict                     # physical column -> value of every row (inserted constants)
    procs: tuple
    stmt: object                    # the set-based statement (``io/staging.py``)

    def rows(self, part: pa.Table, names: dict, extra: dict | None = None) -> ArrowRows | list[tuple]:
        if self.path == "copy-rows":
            return tuples(part, self.logical, self.extra, self.procs)
        arrays = [part.column(c) for c in self.logical]
        arrays += [pa.array([v] * part.num_rows) for v in self.extra.values()]
        return ArrowRows(pa.table(arrays, names=list(self.columns)) if arrays else pa.table({}))

    def run(self, conn: Connection, params) -> None:
        if not len(params):
            return
        d = conn.dialect
        conn.exec_driver_sql(temp_sql(self.table, self.columns, d))
        sql = copy_sql(self.columns, self.path == "copy-csv", d)
        try:
            with conn.connection.driver_connection.cursor() as cur, cur.copy(sql) as copy:
                if isinstance(params, ArrowRows):
                    buf = io.BytesIO()
                    pcsv.write_csv(params.table, buf, CSV_OPTIONS)
                    copy.write(buf.getbuffer())
                else:
                    for row in params:
                        copy.write_row(row)
        except Exception as err:
            raise driver_error(conn, sql, err) from err
        if self.op == "insert":
            conn.execute(self.stmt)
        else:
            with _nested_loops(conn):
                conn.execute(self.stmt)
        conn.exec_driver_sql(drop_sql(d))


_JOINS = ("enable_hashjoin", "enable_mergejoin")


@contextlib.contextmanager
def _nested_loops(conn: Connection):
    """The UPDATE/DELETE joined to the staged batch as a nested loop over the batch, as the
    per-row statements are: the staging table has no statistics (the planner guesses thousands
    of rows) and a target just loaded may have none either, and then a hash join reads the whole
    target for every batch (measured: 58 ms for 100 rows of a 100,000-row table, against 0.9 ms).
    Set for the statement only (``set_config(..., true)``, undone by a rolled-back savepoint too)."""
    sets = ", ".join(f"current_setting('{g}'), set_config('{g}', 'off', true)" for g in _JOINS)
    row = conn.exec_driver_sql(f"SELECT {sets}").one()
    yield
    conn.exec_driver_sql(f"SELECT {', '.join('set_config(%s, %s, true)' for _ in _JOINS)}",
                         tuple(v for g, prev in zip(_JOINS, row[::2]) for v in (g, prev)))


def plan(conn: Connection, op: str, rows: pa.Table, physical: dict[str, str], key: Sequence[str],
         filters: dict, extra: dict | None, table: sa.Table) -> CopyBatch | None:
    """The COPY plan of one operation's rows on ``table``, or None (the generic path)."""
    logical, columns = columns_of(op, rows, physical, key, extra)
    types = [rows.schema.field(c).type for c in logical] + [pa.array([v]).type for v in (extra or {}).values()]
    path = choose(conn, table, types, columns)
    if path is None or not columns or not can_stage(conn):
        return None
    stmt = staged_stmt(op, table, columns, [physical[k] for k in key], filters)
    return CopyBatch(op, path, table, tuple(logical), tuple(columns), dict(extra or {}),
                     processors(conn, table, columns), stmt)
