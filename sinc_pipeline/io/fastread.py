"""The fast path for reads: the ADBC PostgreSQL driver streams Arrow straight from the server.

SQLite's fast path is ``sqlite_helper.py``: the ADBC SQLite driver links its own copy of the
SQLite library, and two copies in one process do not share WAL locks (measured here: a stale
state of a file Python's sqlite3 had just committed to), so it runs in a helper process and
``open_fast_reader`` returns that reader for a SQLite file.

The statement is still built by SQLAlchemy (names quoted, values bound as parameters) and
compiled for ADBC's ``$1`` placeholders. NUMERIC travels as exact text and is cast, vectorised,
to ``decimal128(p, s)``; other columns arrive in their Arrow types. Anything the fast path cannot
do raises, and the caller falls back to the DB-API path (``reader.py``) — same values, slower.

Each reader holds one connection in one REPEATABLE READ transaction, so the tables of a unit are
read from one consistent state.
"""
from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from sinc_pipeline.core.errors import driver_message, hide_password
from sinc_pipeline.core.logs import warn_once

log = logging.getLogger(__name__)

PG_DIALECT = postgresql.dialect(paramstyle="numeric_dollar")  # ADBC's $1 placeholders


def _pg_cast(col: sa.ColumnElement, t: pa.DataType) -> sa.ColumnElement:
    if pa.types.is_decimal(t):
        return sa.cast(col, sa.Text)  # exact
    return col


def canonical(arr: pa.Array | pa.ChunkedArray, t: pa.DataType) -> pa.Array:
    if arr.type.equals(t):
        return arr
    if pa.types.is_timestamp(arr.type) and arr.type.tz is not None:
        arr = arr.cast(pa.timestamp(arr.type.unit))  # Arrow keeps UTC: this is naive UTC
    return pc.cast(arr, t)


class FastReader:
    def __init__(self, url: str):
        u = make_url(url)
        self.url, self.label = url, u.render_as_string(hide_password=True)   # url: to hide its password
        self.dialect = u.get_backend_name()
        if self.dialect == "postgresql":
            import adbc_driver_postgresql.dbapi as adbc
            self.conn = adbc.connect(u.set(drivername="postgresql", query={}).render_as_string(hide_password=False))
            with self.conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        else:
            raise NotImplementedError(self.dialect)

    def read(self, table: sa.Table, physical: dict[str, str], columns, filters: dict, extra,
             schema: pa.Schema) -> pa.Table:
        from sinc_pipeline.io.reader import select_sql
        stmt = select_sql(table, physical, columns, filters, extra,
                          wrap=lambda c, name: _pg_cast(c, schema.field(name).type))
        compiled = stmt.compile(dialect=PG_DIALECT, compile_kwargs={"render_postcompile": True})
        params = tuple(compiled.params[k] for k in (compiled.positiontup or []))
        with self.conn.cursor() as cur:
            cur.execute(str(compiled), parameters=params or None)
            raw = cur.fetch_arrow_table()
        arrays = [canonical(raw.column(i), schema.field(i).type) for i in range(len(schema))]
        return pa.Table.from_arrays(arrays, schema=schema)

    def close(self) -> None:
        try:
            self.conn.rollback()
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        self.conn.close()


def open_fast_reader(url: str) -> FastReader | None:
    """A fast reader for ``url`` when its engine and driver allow, else None."""
    if make_url(url).get_backend_name() == "sqlite":
        from sinc_pipeline.io.sqlite_helper import open_sqlite_reader
        return open_sqlite_reader(url)
    try:
        return FastReader(url)
    except NotImplementedError:             # not PostgreSQL: the DB-API path is this engine's own
        return None
    except Exception as err:  # noqa: BLE001 - the slow path still works; say why, once per run
        where = make_url(url).render_as_string(hide_password=True)
        reason = "driver adbc_driver_postgresql não instalado" if isinstance(err, ImportError) \
            else hide_password(driver_message(err), url)
        warn_once(("conexao_adbc", where),
                  f"Leitura rápida (ADBC) indisponível para o banco {where}; as tabelas dele serão lidas pelo "
                  f"caminho DB-API, mais lento (mesmos valores). Motivo: {reason}", log)
        return None
