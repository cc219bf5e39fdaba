"""Reading a table side into Arrow, in chunks, under logical column names and canonical types."""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.errors import driver_message, hide_password
from sinc_pipeline.core.logs import warn_once
from sinc_pipeline.core.types import to_arrow

log = logging.getLogger(__name__)
JSON_ROWS = 16_384      # rows per SQLite JSON rendering: the text and its parse stay a few MB


def select_sql(table: sa.Table, physical: dict[str, str], columns: Sequence[str], filters: dict,
               extra: sa.ColumnElement | None = None, wrap=None) -> sa.Select:
    """SELECT the logical ``columns`` (labelled) from ``table`` restricted by ``filters`` (logical names).

    ``wrap(column, logical_name)`` may wrap each selected column (the fast path adds CASTs).
    """
    wrap = wrap or (lambda col, _name: col)
    stmt = sa.select(*[wrap(table.c[physical[c]], c).label(c) for c in columns])
    for col, value in filters.items():
        stmt = stmt.where(table.c[physical[col]] == value)
    if extra is not None:
        stmt = stmt.where(extra)
    return stmt


def iter_batches(conn: Connection, stmt: sa.Select, schema: pa.Schema, chunk_size: int) -> Iterator[pa.RecordBatch]:
    """Execute through SQLAlchemy (names quoted, values bound), then fetch the driver's raw rows.

    Rows skip SQLAlchemy's per-value result processing: each column is converted to its
    canonical Arrow type in one vectorised step (``types.to_arrow``), which is several times
    faster and just as exact (NUMERIC arrives as Decimal, or as a double that is rounded to the
    column's declared scale).
    """
    result = conn.execute(stmt)
    cursor = result.cursor
    # stream_results: SQLAlchemy has already fetched the first row into its own buffer
    ahead = list(getattr(getattr(result, "cursor_strategy", None), "_rowbuffer", None) or ())
    n = len(schema)
    try:
        while True:
            rows = cursor.fetchmany(chunk_size)
            if ahead:
                rows, ahead = ahead + list(rows), []
            if not rows:
                break
            cols = list(zip(*rows))
            arrays = [to_arrow(list(cols[i]), schema.field(i).type) for i in range(n)]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)
    finally:
        result.close()


def read_table(conn: Connection, stmt: sa.Select, schema: pa.Schema, chunk_size: int) -> pa.Table:
    batches = list(iter_batches(conn, stmt, schema, chunk_size))
    return pa.Table.from_batches(batches, schema=schema)


def read_int_column_sqlite(conn: Connection, stmt: sa.Select, name: str) -> pa.Table:
    """One integer column from SQLite, fast: SQLite joins the values into one text, Arrow splits it.

    Building a million one-element tuples costs ~3× more; keys are read this way to find deletes.
    """
    sub = stmt.subquery()
    agg = sa.select(sa.func.group_concat(sub.c[name], ","))
    text = conn.execute(agg).scalar()
    if not text:
        return pa.table({name: pa.array([], pa.int64())})
    values = pc.split_pattern(pa.array([text]), ",").flatten()
    return pa.table({name: pc.cast(values, pa.int64())})


def _json_type(t: pa.DataType) -> pa.DataType:
    """How a canonical type travels in SQLite's JSON: numbers as numbers, the rest as text."""
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pa.int64()
    if pa.types.is_decimal(t) or pa.types.is_floating(t):
        return pa.float64()
    return pa.string()


def _rowid_ranges(conn: Connection, stmt: sa.Select, table: sa.Table | None,
                  chunk_rows: int | None) -> list[tuple[int, int]] | None:
    """Rowid ranges of about ``chunk_rows`` rows covering the rows ``stmt`` selects, or None when
    one read is enough: few rows, rowids too sparse to split on (the selected rows are scattered
    over the table, so each range would scan it again), or no rowid (WITHOUT ROWID tables, views).

    One query gives the selected rows' lowest and highest rowid and their count: for a whole
    table, or a key range of an INTEGER PRIMARY KEY (the rowid itself), the ranges then split
    the rows the statement reads, and the JSON text SQLite renders stays bounded."""
    if table is None or not chunk_rows:
        return None
    rowid = sa.literal_column("rowid")
    span = stmt.with_only_columns(sa.func.min(rowid), sa.func.max(rowid), sa.func.count(), maintain_column_froms=True)
    try:
        lo, hi, count = conn.execute(span).one()
    except sa.exc.DBAPIError:
        return None
    if lo is None or count < 2 * chunk_rows or hi - lo + 1 > 2 * count:
        return None
    return [(a, min(a + chunk_rows, hi + 1)) for a in range(lo, hi + 1, chunk_rows)]


def read_sqlite_json(conn: Connection, stmt: sa.Select, schema: pa.Schema, chunk_rows: int | None = None,
                     table: sa.Table | None = None) -> pa.Table:
    """``stmt`` from SQLite through its JSON rendering (see ``_read_sqlite_json``); with ``table``
    and ``chunk_rows``, one rowid range at a time where the rows' rowids are dense enough to
    split on (``_rowid_ranges``), so the text SQLite renders stays bounded whatever the table's
    size (memory flat with a store's backlog and a large table's key ranges)."""
    ranges = _rowid_ranges(conn, stmt, table, min(chunk_rows or JSON_ROWS, JSON_ROWS))
    if ranges is None:
        return _read_sqlite_json(conn, stmt, schema)
    rowid = sa.literal_column("rowid")       # the SELECT reads one table: unqualified is unambiguous
    parts = [_read_sqlite_json(conn, stmt.where(rowid >= a, rowid < b), schema) for a, b in ranges]
    return pa.concat_tables(parts)


def _read_sqlite_json(conn: Connection, stmt: sa.Select, schema: pa.Schema) -> pa.Table:
    """A whole SELECT from SQLite in one round trip: SQLite renders each row as a JSON object and
    joins them (in C), Arrow's multi-threaded JSON reader builds the columns, and one vectorised
    cast per column gives the canonical types (REAL -> decimal rounded to the declared scale, as
    the DB-API path does; ISO text -> timestamps; 0/1 -> booleans). About 2× faster than building
    Python tuples, and it releases the GIL while SQLite works. BLOB columns are not supported
    (JSON cannot carry them): the caller uses ``read_table`` for those.
    """
    import io

    import pyarrow.json as pj

    if any(pa.types.is_binary(f.type) for f in schema):
        raise NotImplementedError("coluna(s) BLOB, que o JSON não comporta")
    sub = stmt.subquery()
    pairs = []
    for i, f in enumerate(schema):
        pairs += [sa.literal_column(f"'c{i}'"), sub.c[f.name]]
    agg = sa.select(sa.func.group_concat(sa.func.json_object(*pairs), sa.literal_column("char(10)")))
    text = conn.execute(agg).scalar()
    if not text:
        return schema.empty_table()
    wire = pa.schema([(f"c{i}", _json_type(f.type)) for i, f in enumerate(schema)])
    raw = pj.read_json(io.BytesIO(text.encode("utf-8")),
                       parse_options=pj.ParseOptions(explicit_schema=wire, unexpected_field_behavior="error"))
    arrays = [pc.cast(raw.column(i), f.type) for i, f in enumerate(schema)]
    return pa.Table.from_arrays(arrays, schema=schema)


def read_fastest(conn: Connection, table: sa.Table, physical: dict[str, str], filters: dict, extra,
                 schema: pa.Schema, chunk_rows: int, fast=None, bounded: bool = False) -> pa.Table:
    """The rows of ``table`` (logical ``schema``) by the fastest safe path of the engine: ADBC
    (``fast``: PostgreSQL's, or SQLite's in a helper process for large reads), then SQLite's
    joined integers or JSON, then the DB-API — same values.

    ``bounded``: ``extra`` selects few rows (a key lookup, a batch's cursor window), so SQLite
    reads them in one statement without first measuring their rowids."""
    stmt = select_sql(table, physical, schema.names, filters, extra)
    helper = getattr(fast, "dialect", None) == "sqlite"
    if fast is not None and not (bounded and helper):
        try:
            if not helper:
                return fast.read(table, physical, schema.names, filters, extra, schema)
            got = fast.read_sqlite(conn, stmt, schema)     # None: small, or read here (sqlite_helper.py)
            if got is not None:
                return got
        except Exception as err:  # noqa: BLE001 - the DB-API path gives the same values
            where = getattr(fast, "label", "?")
            warn_once(("leitura_adbc", where, table.name),
                      f"Leitura rápida (ADBC) falhou para a tabela {table.name!r} do banco {where}; lendo pelo "
                      "caminho DB-API, mais lento (mesmos valores). Motivo: "
                      + hide_password(driver_message(err), getattr(fast, "url", None)), log)
    if conn.dialect.name == "sqlite":
        if len(schema) == 1 and pa.types.is_int64(schema.field(0).type):
            return read_int_column_sqlite(conn, stmt, schema.names[0])
        try:
            return read_sqlite_json(conn, stmt, schema, chunk_rows, None if bounded else table)
        except (NotImplementedError, pa.ArrowException) as err:
            where = _label(conn)
            warn_once(("leitura_json_sqlite", where, table.name),
                      f"Leitura JSON do SQLite indisponível para a tabela {table.name!r} do banco {where}; lendo "
                      f"pelo caminho DB-API, mais lento (mesmos valores). Motivo: {_reason(err)}", log)
    return read_table(conn, stmt, schema, chunk_rows)


def _label(conn: Connection) -> str:
    """The connection's database, password hidden (for messages)."""
    try:
        return conn.engine.url.render_as_string(hide_password=True)
    except AttributeError:
        return "?"


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if isinstance(err, NotImplementedError) and text else driver_message(err)
