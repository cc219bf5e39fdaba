"""What must change on the target: a full diff (in key ranges when large) or a cursor window."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from sinc_pipeline.core.layout import TablePlan
from sinc_pipeline.core.logs import warn_once
from sinc_pipeline.sync.diff import Changes, check_key, diff_tables
from sinc_pipeline.sync.sides import Side, ranged_reads
from sinc_pipeline.sync.cursors import FUTURE_NOTE, bindable, future_limit, naive_utc, position_of
from sinc_pipeline.sync.state import lookback

log = logging.getLogger(__name__)

JOURNAL_WAIT_S = 300     # default MariaDB gap wait (settings.journal.gap_wait_seconds)


def _where(side: Side, table: str) -> str:
    return f"{side.label} tabela {side.table.name!r} ({table})"


def _full_diff(plan: TablePlan, source: Side, target: Side, chunk_rows: int,
               limit=None) -> tuple[Changes, int, object, int]:
    """Compare everything, one key range at a time when the table is large (bounded memory)."""
    cfg, key = plan.config, source.key
    parts, compared, new_pos, future = [], 0, None, 0
    for s, t in ranged_reads(source, target, chunk_rows):
        check_key(s, key, _where(source, cfg.name), nulls_allowed=True)
        check_key(t, key, _where(target, cfg.name), nulls_allowed=True)
        parts.append(diff_tables(s, t, key))
        compared += s.num_rows
        if cfg.cursor:
            m, late = position_of(s, cfg.cursor, limit)
            future += late
            if m is not None and (new_pos is None or m > new_pos):
                new_pos = m
    if len(parts) == 1:
        return parts[0], compared, new_pos, future
    return Changes(pa.concat_tables([p.inserts for p in parts]), pa.concat_tables([p.updates for p in parts]),
                   pa.concat_tables([p.deletes for p in parts])), compared, new_pos, future


def compute_changes(plan: TablePlan, source: Side, target: Side, position,
                    chunk_rows: int = 500_000, window: Window | None = None,
                    future_minutes: int = 60,
                    journal_wait_s: int = JOURNAL_WAIT_S, full: bool = False) -> tuple[Changes, int, object]:
    """Changes that make target equal source, the number of rows compared and the new cursor.

    ``full`` (a table a failed check marked, ``sync/state.py``): compare the whole table, whatever
    the cursor window or the journal says; the position is then the one a first run would take.

    ``window`` (batched units, see ``sync/unit.py``) bounds a cursor read: rows above
    ``window.after`` (or, in the first batch, above the position's lookback, NULLs included)
    up to ``window.upper``. A journal table (``capture: journal``) reads the change table
    instead (``_journal_changes``); its position is the journal's (``capture/positions.py``).

    A cursor value later than the source's current time plus ``future_minutes`` is never taken
    as the new position (``sync/cursors.py``); ``changes.notes`` counts those rows."""
    cfg = plan.config
    key = source.key
    propagate = cfg.delete_policy == "propagate"
    if full:
        position, window = None, None
    if cfg.capture == "journal":
        return _journal_changes(plan, source, target, position, chunk_rows, journal_wait_s)
    limit = None
    if cfg.cursor is not None:
        with source.naming_failures("leitura da hora do banco"):
            limit = future_limit(source.conn, source.col(cfg.cursor), future_minutes)
    if cfg.cursor is None or (position is None and window is None):
        changes, compared, new_pos, future = _full_diff(plan, source, target, chunk_rows, limit)
        if not propagate:
            changes.deletes = changes.deletes.slice(0, 0)
        _note_future(changes, plan, source, future, limit)
        return changes, compared, new_pos if new_pos is not None else position
    cur = source.col(cfg.cursor)
    lower = window_lower(cur, position, cfg.cursor_lookback, window)
    upper = [] if window is None or window.upper is None else [cur <= bindable(cur, window.upper)]
    # Two index-friendly reads rather than one OR: the window above the position, and NULLs.
    parts = [source.read(extra=sa.and_(sa.true(), *lower, *upper), bounded=bool(upper))]
    if window is None or window.after is None:
        parts.append(source.read(extra=cur.is_(None), bounded=True))   # few rows: one statement
    s = pa.concat_tables(parts)
    check_key(s, key, _where(source, cfg.name), nulls_allowed=True)
    t = target.read_keys_in(s.select(key))
    changes = diff_tables(s, t, key)
    changes.deletes = changes.deletes.slice(0, 0)
    if propagate and not _keys_agree(source, target, changes):
        sk, tk = source.read(key), target.read(key)
        changes.deletes = diff_tables(sk, tk, key).deletes
    new_pos, future = position_of(s, cfg.cursor, limit)
    if new_pos is None or (position is not None and new_pos < position):
        new_pos = position
    _note_future(changes, plan, source, future, limit)
    return changes, s.num_rows, new_pos


def _note_future(changes: Changes, plan: TablePlan, source: Side, future: int, limit) -> None:
    if not plan.config.cursor:
        return
    changes.notes[FUTURE_NOTE] = future
    if future:
        warn_once(("cursor_no_futuro", source.label, plan.config.name),
                  f"{future} linha(s) de {source.label} tabela {plan.config.name!r} com {plan.config.cursor!r} depois "
                  f"de {limit} (hora do banco + tolerância): sincronizadas, mas a posição do cursor não avança "
                  "até elas (senão as vendas seguintes seriam puladas). Dica: corrija o relógio de quem gravou "
                  "essas linhas, ou o fuso, se a coluna guarda UTC e o banco a hora local.", log)


@dataclass(frozen=True)
class Window:
    """One batch of a batched unit: cursor values in (after, upper]; ``after`` None is the
    first batch (from each table's own position), ``upper`` None reads to the end."""
    after: object = None
    upper: object = None


def window_lower(cur, position, lookback_amount: int, window: Window | None) -> list:
    """The lower bound of a cursor read, as SQL conditions (none: from the lowest value)."""
    if window is not None and window.after is not None:
        return [cur > bindable(cur, window.after)]
    return [] if position is None else [cur >= bindable(cur, lookback(position, lookback_amount))]


def batch_upper(source: Side, cursor: str, position, lookback_amount: int, window: Window, rows: int):
    """The cursor value ``rows`` rows into this table's window, or None when fewer remain.

    The batch then takes every row up to that value (ties included), so one batch holds about
    ``rows`` rows of this table, read by the database's own ORDER BY … OFFSET."""
    cur = source.col(cursor)
    stmt = (source.select([cursor], sa.and_(sa.true(), *window_lower(cur, position, lookback_amount, window),
                                            cur.is_not(None)))
            .with_only_columns(cur).order_by(cur).offset(rows).limit(1))
    with source.naming_failures("divisão em lotes"):
        return naive_utc(source.conn.execute(stmt).scalar())


def _key_aggregates(side: Side) -> tuple[int, int]:
    col = side.col(side.key[0])
    stmt = side.select([side.key[0]]).with_only_columns(sa.func.count(), sa.func.coalesce(sa.func.sum(col), 0))
    count, total = side.conn.execute(stmt).one()
    return int(count), int(total)


def _keys_agree(source: Side, target: Side, changes: Changes) -> bool:
    """Cheap delete detection for a single integer key: after this run's inserts, do both sides
    hold the same number of keys with the same sum? If so no key is missing at the source; if
    not (or the key is not a single integer), the caller compares the full key sets."""
    if len(source.key) != 1 or not pa.types.is_integer(source.schema.field(source.key[0]).type):
        return False
    s_count, s_sum = _key_aggregates(source)
    t_count, t_sum = _key_aggregates(target)
    ins = changes.inserts.column(source.key[0])
    ins_sum = pc.sum(ins).as_py() or 0
    return s_count == t_count + len(ins) and s_sum == t_sum + ins_sum


def journal_source(plan: TablePlan, source: Side, side: str | None = None):
    """The journal of ``plan``'s table on the side that produces its changes (``source``;
    ``side`` "origin" | "store" says which it is for a two-way table)."""
    from sinc_pipeline.capture.install import ORIGIN, producing_side, recorded_key
    from sinc_pipeline.capture.journal import JournalSource
    from sinc_pipeline.capture.sql import scope_text
    cfg = plan.config
    side = side or producing_side(cfg)
    logical, physical = recorded_key(cfg, [source.physical[c] for c in source.schema.names], side)
    scope = None
    if side == ORIGIN and cfg.scoped and plan.origin_filter:
        scope = scope_text(plan.origin_filter, sorted(plan.origin_filter))
    schema = pa.schema([plan.schema.field(k) for k in logical])
    return JournalSource(source.conn, source.table.name, physical, schema, scope, source.role)


def _journal_changes(plan: TablePlan, source: Side, target: Side, position, chunk_rows: int,
                     wait_s: int) -> tuple[Changes, int, object]:
    """Journal mode: the keys the change table recorded since ``position`` (read first, in the
    source's snapshot), their current rows at the source and at the target, compared: a row
    present at the source is inserted or updated, one absent is deleted. When the journal cannot
    tell (see ``capture/journal.py``) the table is compared in full and the position read before
    that comparison is returned."""
    from sinc_pipeline.capture.journal import read_journal
    cfg = plan.config
    src = journal_source(plan, source)
    with source.naming_failures("leitura do journal"):
        read = read_journal(src, source.conn.dialect.name, position, wait_s)
    if read.keys is None:
        # a first sync is expected (INFO); a store fallen behind the pruned horizon or restored is news (WARNING)
        level = logging.INFO if position is None else logging.WARNING
        log.log(level, "Modo journal, tabela %r (%s): comparando a tabela inteira uma vez (%s); depois segue pelo "
                "journal", cfg.name, source.label, read.reason)
        changes, compared, _, _ = _full_diff(plan, source, target, chunk_rows, None)
    else:
        keys = read.keys.select(source.key)
        s = source.read_keys_in(keys)
        check_key(s, source.key, _where(source, cfg.name), nulls_allowed=True)
        t = target.read_keys_in(keys)
        changes, compared = diff_tables(s, t, source.key), keys.num_rows
    if cfg.delete_policy != "propagate":
        changes.deletes = changes.deletes.slice(0, 0)
    return changes, compared, read.position.encode()
