"""The database-side facts of ``saude_lojas``: pending journal entries, held rows, quarantined
documents, the last snapshot. Each reads one store's (or the origin's) database; the caller
catches a ``SincError`` per store so one unreachable store does not hide the others."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.install import ORIGIN, journal_tables, scope_columns
from sinc_pipeline.capture.journal import keys_stmt
from sinc_pipeline.core.db import connect
from sinc_pipeline.settings import Settings, StoreConfig
from sinc_pipeline.snapshots.catalog import latest
from sinc_pipeline.snapshots.storage import LocalStorage

_NO_UPPER = 2 ** 62


def _pending_on(conn, store_id: str, direction: str, tables: list[tuple[str, int, str | None]]) -> int | None:
    """Distinct keys changed after the store's recorded position, summed over ``tables``
    ((physical name, key width, scope)); None when the journal or a position is missing."""
    insp = sa.inspect(conn)
    if not insp.has_table(q.CHANGES) or not insp.has_table(q.POSITIONS):
        return None
    engine = q.engine_family(conn.engine.dialect.name)
    have = {r[0]: int(r[1]) for r in conn.execute(
        sa.text(f"SELECT tabela, posicao FROM {q.POSITIONS} WHERE loja = :l AND direcao = :d"),
        {"l": store_id, "d": direction})}
    total = 0
    for table, n_key, scope in tables:
        if table not in have:
            return None
        stmt = keys_stmt(engine, table, n_key, scope, have[table], _NO_UPPER).subquery()
        total += int(conn.execute(sa.select(sa.func.count()).select_from(stmt)).scalar() or 0)
    return total


def pending_changes(settings: Settings, store: StoreConfig) -> int | None:
    """Journal mode: entries a store has not consumed yet, both directions (None: no journal
    tables, or a table without a recorded position yet)."""
    receive, send = journal_tables(settings, "receive"), journal_tables(settings, "send")
    both = journal_tables(settings, "both")    # two-way: journaled on both sides, under direction "both"
    if not receive and not send and not both:
        return None
    total = 0
    for direction, tables in (("receive", receive), ("both", both)):
        if not tables:
            continue
        scoped = [(t.name, len(t.key), q.scope_text(store.filter, cols) if (cols := scope_columns(settings, t, ORIGIN))
                   else None) for t in tables]
        with connect(settings.origin.url, "de origem") as conn:
            n = _pending_on(conn, store.id, direction, scoped)
        if n is None:
            return None
        total += n
    for direction, tables in (("send", send), ("both", both)):
        if not tables:
            continue
        with connect(store.url, f"da loja {store.id}") as conn:
            n = _pending_on(conn, store.id, direction, [(t.target_name, len(t.key), None) for t in tables])
        if n is None:
            return None
        total += n
    return total


def last_snapshot_at(settings: Settings, store_id: str) -> dt.datetime | None:
    m = latest(LocalStorage(settings.snapshots.root), store_id)
    if m is None or not m.created_at:
        return None
    at = dt.datetime.fromisoformat(m.created_at.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)


def quarantined_by_store(settings: Settings) -> dict[str, int]:
    if settings.fiscal is None:
        return {}
    from sinc_pipeline.fiscal.quarantine import open_entries
    df = open_entries(settings)
    return {str(k): int(v) for k, v in df.groupby("loja").size().items()} if len(df) else {}
