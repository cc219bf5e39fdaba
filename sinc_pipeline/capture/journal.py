"""Reading the change table for one table and one consumer: the changed keys and the new position.

``read_journal`` runs on the producing side's connection, in the sync's snapshot, BEFORE any
row of the table is read (rows read later can only be newer than the entries: re-applying a
newer row is harmless, an older one would lose a change). It returns either the distinct keys
changed since the consumer's position (several changes of one key cost one key) or, when the
journal cannot tell (no position yet, a position below the pruned horizon, a producer whose
numbers went back: restored or reinstalled), ``keys=None``: the caller compares the table in
full (diff) and saves the position read here, at the start of that diff.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.positions import Position, advance_gaps, contiguous_head, decode
from sinc_pipeline.core.db import redact
from sinc_pipeline.core.errors import SchemaError

log = logging.getLogger(__name__)

HEAD_WINDOW = 100_000      # MariaDB: numbers looked at below the top to find the contiguous head


@dataclass(frozen=True)
class JournalSource:
    """What the journal of one table is, on its producing side."""
    conn: Connection
    table: str                 # the captured table's physical name there
    key: list[str]             # its physical key columns, in the recorded order
    key_schema: pa.Schema      # the same columns under their logical names and Arrow types
    scope: str | None = None   # the store's ``escopo`` text (receive of a scoped table), else None
    role: str = "de origem"


@dataclass(frozen=True)
class JournalRead:
    keys: pa.Table | None      # None: compare in full
    position: Position
    entries: int = 0           # distinct keys read
    reason: str | None = None  # why the table is compared in full


def changes_table() -> sa.Table:
    md = sa.MetaData()
    return sa.Table(q.CHANGES, md, sa.Column("seq", sa.BigInteger, primary_key=True),
                    sa.Column("transacao", sa.BigInteger), sa.Column("tabela", sa.String(128)),
                    *(sa.Column(k, sa.Text) for k in q.KEY_COLUMNS), sa.Column("escopo", sa.Text),
                    sa.Column("operacao", sa.String(1)), sa.Column("criado_em", sa.String(32)))


CHANGES = changes_table()


def keys_stmt(engine: str, table: str, n_key: int, scope: str | None, pos: int, upper: int | None = None) -> sa.Select:
    """The distinct keys of ``table`` changed after ``pos`` (PostgreSQL: in ``[pos, upper)`` of
    transaction ids; else ``seq > pos``), restricted to the store's ``scope`` when given."""
    c = CHANGES.c
    cond = [c.tabela == table]
    if engine == "postgresql":
        cond += [c.transacao >= pos, c.transacao < upper]
    else:
        cond.append(c.seq > pos)
    if scope is not None:
        cond.append(c.escopo == scope)
    return sa.select(*(c[k] for k in q.KEY_COLUMNS[:n_key])).where(*cond).distinct()


def keys_sql(engine: str, table: str, n_key: int, scope: str | None) -> str:
    from sinc_pipeline.io.writer import compile_sql
    return compile_sql(keys_stmt(engine, table, n_key, scope, 0, 0), "mysql" if engine == "mysql" else engine)


def not_installed(src: JournalSource, what: str) -> SchemaError:
    return SchemaError(f"Captura de alterações (modo journal) não instalada: {what}",
                       where=f"banco {src.role} {redact(src.conn.engine.url)}, tabela {src.table!r}",
                       hint="instale-a com o job instalar_captura no Dagster ou com "
                            "`python -m sinc_pipeline instalar-captura` (e rode a sincronização de novo)")


def check_installed(src: JournalSource, engine: str) -> None:
    if not sa.inspect(src.conn).has_table(q.CHANGES):
        raise not_installed(src, f"a tabela {q.CHANGES} não existe")
    n = src.conn.execute(sa.text(q.triggers_installed_sql(engine)), {"t": src.table}).scalar()
    if int(n or 0) < q.TRIGGERS_PER_TABLE[engine]:
        raise not_installed(src, "os gatilhos da tabela não existem")


def _horizon(conn: Connection) -> int:
    v = conn.execute(sa.text(f"SELECT horizonte FROM {q.HORIZON} WHERE id = 1")).scalar()
    return int(v or 0)


def _step(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT @@auto_increment_increment").scalar() or 1)


def start_position(conn: Connection, engine: str) -> Position:
    """Where a consumer starts after a full diff read in this snapshot."""
    if engine != "mysql":
        return Position(int(conn.execute(sa.text(q.horizon_sql(engine))).scalar() or 0))
    top = int(conn.execute(sa.text(q.horizon_sql(engine))).scalar() or 0)
    if top == 0:
        return Position(_horizon(conn))
    floor = max(_horizon(conn), top - HEAD_WINDOW)
    seqs = [int(s) for s in conn.execute(sa.select(CHANGES.c.seq).where(CHANGES.c.seq > floor)
                                         .order_by(CHANGES.c.seq)).scalars()]
    return Position(contiguous_head(seqs, floor, _step(conn)))


def _fallback(src: JournalSource, engine: str, reason: str) -> JournalRead:
    return JournalRead(None, start_position(src.conn, engine), 0, reason)


def read_journal(src: JournalSource, engine: str, saved, wait_s: int) -> JournalRead:
    """The keys changed since ``saved`` (a position as saved, or None) and the new position."""
    engine = q.engine_family(engine)
    check_installed(src, engine)
    pos = decode(saved)
    if pos is None:
        return _fallback(src, engine, "sem posição salva (primeira sincronização em modo journal)")
    horizon = _horizon(src.conn)
    if pos.seq < horizon:
        return _fallback(src, engine, f"posição {pos.seq} anterior ao horizonte {horizon} (entradas já podadas "
                                      "ou capturadas depois dela)")
    head = int(src.conn.execute(sa.text(q.horizon_sql(engine))).scalar() or 0)
    top = head if engine != "postgresql" else int(src.conn.exec_driver_sql(
        "SELECT CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS TEXT) AS BIGINT)").scalar())
    if pos.seq > max(top, horizon):
        return _fallback(src, engine, f"posição {pos.seq} além do que o banco produtor já numerou ({head}): "
                                      "banco restaurado ou captura reinstalada")
    upper = head if engine == "postgresql" else None
    if engine == "postgresql":
        new = Position(max(head, pos.seq))   # never back (see sql.horizon_sql)
    elif engine == "sqlite":
        new = Position(head)
    else:
        seqs = [int(s) for s in src.conn.execute(sa.select(CHANGES.c.seq).where(CHANGES.c.seq > pos.seq)
                                                 .order_by(CHANGES.c.seq)).scalars()]
        adv = advance_gaps(pos, seqs, int(time.time()), wait_s, _step(src.conn))
        for a, b in adv.skipped:
            log.warning("Captura de alterações: números %s–%s de %s nunca apareceram (transação desfeita ou "
                        "aberta há mais de %s s); seguindo adiante (tabela %r)", a, b, q.CHANGES, wait_s, src.table)
        new = adv.position
    stmt = keys_stmt(engine, src.table, len(src.key), src.scope, pos.seq, upper)
    rows = src.conn.execute(stmt).all()
    return JournalRead(keys_table(rows, src.key_schema), new, len(rows))


def keys_table(rows: list, schema: pa.Schema) -> pa.Table:
    """The recorded key texts as an Arrow table of the key's own types (cast column by column)."""
    cols = list(zip(*rows)) if rows else [() for _ in schema]
    arrays = []
    for f, values in zip(schema, cols):
        text = pa.array(list(values), pa.string())
        arrays.append(_cast_text(text, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _cast_text(text: pa.Array, t: pa.DataType) -> pa.Array:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return text.cast(t)
    if pa.types.is_boolean(t):
        return pc.is_in(pc.utf8_lower(text), pa.array(["1", "t", "true"])).cast(t)
    if pa.types.is_integer(t) and len(text):
        # SQLite may render an integer stored as REAL ('5.0')
        text = pc.replace_substring_regex(text, r"\.0+$", "")
    try:
        return text.cast(t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        import datetime as dt
        if pa.types.is_timestamp(t):
            return pa.array([None if v is None else dt.datetime.fromisoformat(v) for v in text.to_pylist()], t)
        if pa.types.is_date(t):
            return pa.array([None if v is None else dt.date.fromisoformat(v[:10]) for v in text.to_pylist()], t)
        raise
