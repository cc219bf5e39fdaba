"""The check ``origem_e_loja_conferem``: do both sides agree for a store (counts and checksum)?"""
from __future__ import annotations

from dataclasses import dataclass, field

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.layout import resolve_plan
from sinc_pipeline.io.checksum import RunningChecksum
from sinc_pipeline.settings import Settings, TableConfig
from sinc_pipeline.sync.diff import diff_tables
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
        with fast_readers(src_url, tgt_url) as fast:
            source, target = sides_for(plan, direction, src, tgt, settings.chunk_size, fast)
            src_sum, tgt_sum, missing, different, extra = RunningChecksum(), RunningChecksum(), 0, 0, 0
            for s, t in ranged_reads(source, target, settings.diff_chunk_rows):
                src_sum.add(s)
                tgt_sum.add(t)
                if table.delete_policy != "propagate":
                    ch = diff_tables(s, t, source.key)
                    missing, different = missing + ch.inserts.num_rows, different + ch.updates.num_rows
                    extra += ch.deletes.num_rows
    if table.delete_policy == "propagate":
        passed, detail = src_sum.rows == tgt_sum.rows and src_sum.value == tgt_sum.value, {}
    else:
        passed = not missing and not different
        detail = {"ausentes_no_destino": missing, "diferentes": different, "somente_no_destino": extra}
    return Agreement(table.name, passed, src_sum.rows, tgt_sum.rows, src_sum.value, tgt_sum.value, detail)
