"""The check ``origem_e_loja_conferem``: do both sides agree for a store (counts and checksum)?

While rows of the table are held (``sinc_erros``, see ``sync/held.py``) the sides differ by
them: the agreement then also says whether every difference is a held row (``only_held``), so
the check can warn naming them instead of failing as for an unexplained difference."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.layout import resolve_plan
from sinc_pipeline.io.checksum import RunningChecksum
from sinc_pipeline.settings import Settings, TableConfig
from sinc_pipeline.sync.cursors import bindable, future_limit
from sinc_pipeline.sync.diff import diff_tables
from sinc_pipeline.sync.held import key_json
from sinc_pipeline.sync.held_store import entries_on
from sinc_pipeline.sync.sides import ranged_reads, sides_for
from sinc_pipeline.sync.unit import fast_readers, roles


@dataclass
class Agreement:
    table: str
    passed: bool
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str
    detail: dict = field(default_factory=dict)
    held: list[dict] = field(default_factory=list)   # the table's entries in sinc_erros for this store
    only_held: bool = False                          # not passed, and every differing row is held
    future_rows: int = 0                             # source rows whose cursor is in the future


def verify_table(settings: Settings, store_id: str, table: TableConfig) -> Agreement:
    """Do both sides agree for this store? Row count and content checksum over the synced columns.

    With ``deletes: ignore`` the target may keep rows the source no longer has: then every
    source row must be present and equal at the target.
    """
    store = settings.store(store_id)
    direction = table.direction
    (src_url, src_role), (tgt_url, tgt_role) = roles(store, settings, direction)
    with connect(src_url, src_role, snapshot=True) as src, connect(tgt_url, tgt_role, snapshot=True) as tgt:
        origin_conn, store_conn = (src, tgt) if direction == "receive" else (tgt, src)
        plan = resolve_plan(table, store, origin_conn, settings.origin.url, store_conn, store.url, scan=False)
        held = entries_on(tgt, store.id, direction, table.name)
        held_keys, unexplained = {e["chave"] for e in held}, 0
        with fast_readers(src_url, tgt_url) as fast:
            source, target = sides_for(plan, direction, src, tgt, settings.chunk_size, fast)
            src_sum, tgt_sum, missing, different, extra = RunningChecksum(), RunningChecksum(), 0, 0, 0
            for s, t in ranged_reads(source, target, settings.diff_chunk_rows):
                src_sum.add(s)
                tgt_sum.add(t)
                if table.delete_policy != "propagate" or held:
                    ch = diff_tables(s, t, source.key)
                    missing, different = missing + ch.inserts.num_rows, different + ch.updates.num_rows
                    extra += ch.deletes.num_rows
                    parts = [ch.inserts, ch.updates] + ([ch.deletes] if table.delete_policy == "propagate" else [])
                    unexplained += _not_held([p.select(source.key) for p in parts], held_keys)
            future = _future_rows(source, table, settings.cursor_future_minutes)
    if table.delete_policy == "propagate":
        passed, detail = src_sum.rows == tgt_sum.rows and src_sum.value == tgt_sum.value, {}
    else:
        passed = not missing and not different
        detail = {"ausentes_no_destino": missing, "diferentes": different, "somente_no_destino": extra}
    return Agreement(table.name, passed, src_sum.rows, tgt_sum.rows, src_sum.value, tgt_sum.value, detail,
                     held, bool(held) and not passed and not unexplained, future)


def _future_rows(source, table: TableConfig, minutes: int) -> int:
    """Rows whose cursor is later than the source's time plus the tolerance (``sync/cursors.py``):
    synced, but holding the position back until their clock is fixed."""
    if not table.cursor:
        return 0
    col = source.col(table.cursor)
    with source.naming_failures("leitura da hora do banco"):
        limit = future_limit(source.conn, col, minutes)
        if limit is None:
            return 0
        stmt = source.select([table.cursor], col > bindable(col, limit)).with_only_columns(sa.func.count())
        return int(source.conn.execute(stmt).scalar() or 0)


def _not_held(keys: list, held_keys: set) -> int:
    """How many of the differing rows' keys are not held ones (a lower bound when they outnumber
    the held keys: then some difference is unexplained anyway)."""
    n = sum(k.num_rows for k in keys)
    if not n or n > len(held_keys):
        return n
    return sum(1 for k in keys for row in k.to_pylist() if key_json(row) not in held_keys)
