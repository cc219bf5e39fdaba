"""What the server engines' bulk writes share: a batch staged in a temporary table, then applied
to the target by one set-based statement (``io/apply_pg.py``, ``io/apply_mysql.py``).

``temp_table`` is the staging table as SQLAlchemy sees it (the target's own column types);
``insert_from_stmt`` / ``update_from_stmt`` / ``delete_from_stmt`` are the statements that move
a staged batch into the target, with the side's filters on every UPDATE/DELETE, and ``*_sql``
their compiled twins. ``tuples`` builds a batch's driver parameters a column at a time through
SQLAlchemy's own bind processors (what ``conn.execute`` would send), ``ArrowRows`` keeps a batch
as Arrow for a path that never needs Python values. Both are sliceable (``io/isolate.py``
bisects a failing batch by slicing its parameters).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core import engines
from sinc_pipeline.core.logs import warn_once

TEMP = "_sinc_lote"      # the staging table's name (temporary: private to the session)


def temp_table(table: sa.Table, columns: Sequence[str]) -> sa.Table:
    """The staging table: ``columns`` of ``table`` with their types, no constraints."""
    return sa.Table(TEMP, sa.MetaData(), *[sa.Column(c, table.c[c].type) for c in columns])


def compile_sql(stmt, dialect: str) -> str:
    return str(stmt.compile(dialect=engines.dialect(dialect)))


def insert_from_stmt(table: sa.Table, columns: Sequence[str]) -> sa.Insert:
    """``INSERT INTO t (cols) SELECT cols FROM staging``."""
    tmp = temp_table(table, columns)
    return sa.insert(table).from_select(list(columns), sa.select(*[tmp.c[c] for c in columns]))


def _match(table: sa.Table, tmp: sa.Table, key: Sequence[str], filters: dict) -> list:
    return [table.c[k] == tmp.c[k] for k in key] + [table.c[c] == sa.literal(v) for c, v in filters.items()]


def update_from_stmt(table: sa.Table, key: Sequence[str], columns: Sequence[str], filters: dict) -> sa.Update:
    """``UPDATE t SET c = staging.c ... WHERE t.key = staging.key AND <filters>`` (``UPDATE ...
    FROM`` on PostgreSQL, a multi-table UPDATE on MariaDB)."""
    tmp = temp_table(table, [*key, *columns])
    return sa.update(table).values({c: tmp.c[c] for c in columns}).where(*_match(table, tmp, key, filters))


def delete_from_stmt(table: sa.Table, key: Sequence[str], filters: dict) -> sa.Delete:
    """``DELETE FROM t USING staging WHERE t.key = staging.key AND <filters>``."""
    tmp = temp_table(table, key)
    return sa.delete(table).where(*_match(table, tmp, key, filters))


def insert_from_sql(table: sa.Table, columns: Sequence[str], dialect: str) -> str:
    return compile_sql(insert_from_stmt(table, columns), dialect)


def update_from_sql(table: sa.Table, key: Sequence[str], columns: Sequence[str], filters: dict, dialect: str) -> str:
    return compile_sql(update_from_stmt(table, key, columns, filters), dialect)


def delete_from_sql(table: sa.Table, key: Sequence[str], filters: dict, dialect: str) -> str:
    return compile_sql(delete_from_stmt(table, key, filters), dialect)


def staged_stmt(op: str, table: sa.Table, columns: Sequence[str], key: Sequence[str], filters: dict):
    """The statement that applies a staged batch of ``op``; ``columns`` are the staged columns."""
    if op == "insert":
        return insert_from_stmt(table, columns)
    if op == "update":
        return update_from_stmt(table, key, [c for c in columns if c not in key], filters)
    return delete_from_stmt(table, key, filters)


def columns_of(op: str, rows: pa.Table, physical: dict[str, str], key: Sequence[str],
               extra: dict | None) -> tuple[list[str], list[str]]:
    """(logical columns of ``rows`` written, in order; the physical staged columns, ``extra``'s
    after them). Updates stage the key first, then the values; deletes the key alone."""
    if op == "insert":
        logical = [c for c in rows.column_names if c in physical and physical[c] not in (extra or {})]
    elif op == "update":
        logical = list(key) + [c for c in rows.column_names if c not in key]
    else:
        logical = list(key)
    return logical, [physical[c] for c in logical] + list(extra or {})


def processors(conn: Connection, table: sa.Table, columns: Sequence[str]) -> tuple:
    """SQLAlchemy's bind processor of each column's type on this connection's dialect (None: the
    value goes to the driver as it is), as ``conn.execute`` would apply them."""
    return tuple(table.c[c].type._cached_bind_processor(conn.dialect) for c in columns)


def tuples(rows: pa.Table, logical: Sequence[str], extra: dict | None, procs: Sequence) -> list[tuple]:
    """One tuple per row (``logical`` columns then ``extra``'s values), built a column at a time."""
    columns = []
    values = [rows.column(c).to_pylist() for c in logical] + [[v] * rows.num_rows for v in (extra or {}).values()]
    for vs, proc in zip(values, procs):
        columns.append(vs if proc is None else [None if v is None else proc(v) for v in vs])
    return list(zip(*columns)) if columns else [()] * rows.num_rows


@dataclass(frozen=True)
class ArrowRows:
    """A batch kept as Arrow (the staged columns, physical names): ``len`` and slicing, like the
    list of tuples the other paths use."""
    table: pa.Table

    def __len__(self) -> int:
        return self.table.num_rows

    def __getitem__(self, s: slice) -> ArrowRows:
        start, stop, _ = s.indices(self.table.num_rows)
        return ArrowRows(self.table.slice(start, max(stop - start, 0)))


def driver_error(conn: Connection, sql: str, err: Exception) -> Exception:
    """A driver's own error (raised outside ``conn.execute``, e.g. by psycopg's COPY) as the
    SQLAlchemy error ``conn.execute`` would have raised (IntegrityError, DataError, ...), so the
    isolation (``io/isolate.py``) and the error naming see the same classes on every path."""
    base = conn.dialect.loaded_dbapi.Error
    if not isinstance(err, base):
        return err
    return sa.exc.DBAPIError.instance(sql, None, err, base, dialect=conn.dialect)


def can_stage(conn: Connection) -> bool:
    """May this session create temporary tables (PostgreSQL: the database's TEMPORARY privilege;
    MariaDB: CREATE TEMPORARY TABLES, probed)? Asked once per database connection. Without it
    the batches take the generic path, and the run says so once (WARNING): nothing fails."""
    known = conn.info.get("sinc_can_stage")
    if known is None:
        if conn.dialect.name == "postgresql":
            known = bool(conn.exec_driver_sql(
                "SELECT has_database_privilege(current_database(), 'TEMPORARY')").scalar())
        else:   # a refused CREATE does not end a MariaDB transaction
            try:
                conn.exec_driver_sql("CREATE TEMPORARY TABLE _sinc_prova (x INTEGER)")
                conn.exec_driver_sql("DROP TEMPORARY TABLE _sinc_prova")
                known = True
            except sa.exc.DBAPIError:
                known = False
        conn.info["sinc_can_stage"] = known
    if not known:
        where = conn.engine.url.render_as_string(hide_password=True)
        warn_once(("sem_tabela_temporaria", where),
                  f"Banco {where}: o usuário não pode criar tabelas temporárias; as gravações usam o caminho mais "
                  "lento (executemany do SQLAlchemy). Dica: GRANT TEMPORARY ON DATABASE <banco> TO <usuário> "
                  "(PostgreSQL) ou GRANT CREATE TEMPORARY TABLES ON <banco>.* TO <usuário> (MariaDB).")
    return known
