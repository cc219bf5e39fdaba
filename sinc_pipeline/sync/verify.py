"""The check ``origem_e_loja_conferem``: do both sides agree for a store?

After a sync (``written`` given: the keys the run wrote, ``TableResult.written``) it costs what
the sync wrote plus a few aggregates:

1. the written keys are read back on both sides and compared in full (inserted/updated rows
   present and equal, deleted rows absent);
2. whole-table signals computed in each database (``sync/fingerprint.py``): per key range, the
   row count and a sum of per-row fingerprints; a range that differs is then read on both sides
   and compared in Arrow, naming the rows;
3. a table whose key cannot be split into integer ranges is compared in full in Arrow.

Without ``written`` (tests, and anything wanting the exact answer) every value is compared, one
key range at a time, through the vectorised row hash (``reconcile/compare.py``).

While rows of the table are held (``sinc_erros``, see ``sync/held.py``) the sides differ by
them: the agreement then also says whether every difference is a held row (``only_held``), so
the check can warn naming them instead of failing as for an unexplained difference. A failure
that is not explained by held rows marks the table for a full comparison at its next sync
(``sync/state.py`` ``mark_repair``), which repairs it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.layout import resolve_plan
from sinc_pipeline.core.progress import Progress
from sinc_pipeline.fiscal.held_docs import quarantined_entries
from sinc_pipeline.io.checksum import row_hashes
from sinc_pipeline.io.ranges import column_bounds, range_condition
from sinc_pipeline.reconcile.compare import DIFFERENT, EXTRA, MISSING, Divergence, compare
from sinc_pipeline.settings import Settings, TableConfig
from sinc_pipeline.sync.cursors import bindable, future_limit
from sinc_pipeline.sync.fingerprint import both_bucket_sums, both_counts, fingerprintable, key_buckets
from sinc_pipeline.sync.window import Window
from sinc_pipeline.sync.held import key_json
from sinc_pipeline.sync.held_store import entries_on
from sinc_pipeline.sync.sides import Side, ranged_reads, read_both, sides_for
from sinc_pipeline.sync.state import ensure_state_table, mark_repair
from sinc_pipeline.sync.unit import fast_readers, roles
from sinc_pipeline.sync.written import Written

FULL, WRITTEN = "completa", "linhas gravadas + agregados no banco"
WINDOWED = "linhas gravadas + contagem + agregados de uma janela de faixas"
IDLE = "nada gravado: agregados de uma janela de faixas"


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
    mode: str = FULL                                 # how it was checked (FULL, WRITTEN)
    marked: bool = False                             # a full comparison is due at the next sync
    divergence: Divergence | None = field(default=None, repr=False, compare=False)   # the rows that differ


def verify_table(settings: Settings, store_id: str, table: TableConfig, written: Written | pa.Table | None = None,
                 *, mark: bool = False, progress: Progress | None = None, plan=None) -> Agreement:
    """Do both sides agree for this store? See the module's text; ``mark``: an unexplained
    difference marks the table for a repairing full diff at its next sync. ``progress(table,
    rows_done, rows_total)`` after each key range of a full comparison (the larger side's rows).
    ``plan``: the table's ``TablePlan`` when the caller has it (the sync's, see ``TableResult.plan``).

    With ``deletes: ignore`` the target may keep rows the source no longer has: then every
    source row must be present and equal at the target.
    """
    if isinstance(written, pa.Table):
        written = Written(written)
    store = settings.store(store_id)
    direction = table.direction
    propagate = table.delete_policy == "propagate"
    (src_url, src_role), (tgt_url, tgt_role) = roles(store, settings, direction)
    window = None
    with connect(src_url, src_role, snapshot=True) as src, connect(tgt_url, tgt_role, snapshot=True) as tgt:
        origin_conn, store_conn = (src, tgt) if direction == "receive" else (tgt, src)
        if plan is None:    # else the sync's own plan, resolved moments ago in this process
            plan = resolve_plan(table, store, origin_conn, settings.origin.url, store_conn, store.url, scan=False)
        held = entries_on(tgt, store.id, direction, table.name)
        if direction == "send":
            held += quarantined_entries(settings, tgt, store.id, table.name, list(plan.mapping.store_key))
        with fast_readers(src_url, tgt_url) as fast:
            source, target = sides_for(plan, direction, src, tgt, settings.chunk_size, fast)
            if written is None:
                tick = None
                if progress is not None:
                    total = max(both_counts(source, target))
                    progress(table.name, 0, total)
                    tick = lambda done: progress(table.name, done, max(total, done))   # noqa: E731
                (div, counts, sums), mode, ranges = _full(source, target, settings.diff_chunk_rows, propagate,
                                                          tick), FULL, None
            else:
                window = Window.load(tgt, store.id, table.name, direction, settings.check_window_rows)
                div, counts, sums, mode, ranges = _cheap(source, target, written.keys, settings.diff_chunk_rows,
                                                         propagate, window)
            future = _future_rows(source, table, settings.cursor_future_minutes)
    unexplained = _not_held(div, {e["chave"] for e in held})
    passed = div.total == 0 and (not propagate or counts[0] == counts[1])
    detail = {"ausentes_no_destino": div.counts[MISSING], "diferentes": div.counts[DIFFERENT]}
    if propagate:
        detail["somente_no_destino"] = div.counts[EXTRA]
    if written is not None:
        detail["linhas_gravadas_conferidas"] = 0 if written.keys is None else written.keys.num_rows
    if ranges is not None:
        detail["faixas_conferidas_no_banco"], detail["faixas_relidas"], detail["faixas_da_tabela"] = ranges
    agreement = Agreement(table.name, passed, counts[0], counts[1], sums[0], sums[1], detail, held,
                          bool(held) and not passed and not unexplained, future, mode, divergence=div)
    repair = mark and not passed and not agreement.only_held
    if repair or (window is not None and window.moves):
        with connect(tgt_url, tgt_role, write=True) as conn:
            ensure_state_table(conn)
            if window is not None and window.moves:
                window.save(conn)
            if repair:
                mark_repair(conn, store.id, table.name, direction)
        agreement.marked = repair
    return agreement


def _full(source: Side, target: Side, chunk_rows: int, propagate: bool, tick=None):
    """(divergence, rows, checksums): every value, one key range at a time (both sides read at
    once), by row hash; ``tick(rows_done)`` after each range."""
    div = Divergence(list(source.key))
    rows, sums = [0, 0], [0, 0]
    for s, t in ranged_reads(source, target, chunk_rows):
        hs, ht = row_hashes(s), row_hashes(t)   # once: the comparison and the checksums
        div.add(compare(s, t, source.key, propagate=propagate, hashes=(hs, ht)))
        for i, h in enumerate((hs, ht)):
            rows[i] += len(h)
            sums[i] = (sums[i] + int(h.sum(dtype=np.uint64))) & ((1 << 64) - 1)
        if tick is not None:
            tick(max(rows))
    return div, tuple(rows), tuple(f"{v:016x}" for v in sums)


def _cheap(source: Side, target: Side, written: pa.Table | None, chunk_rows: int, propagate: bool,
           window: Window):
    """(divergence, rows, sums, mode, (ranges, ranges re-read)) after a sync; ``written`` None:
    too many keys were written to read them back. The aggregates cover ``window``'s key ranges
    (every range of a small table); the whole-table row count is taken when the run wrote rows."""
    div = Divergence(list(source.key))
    wrote = written is None or written.num_rows > 0
    if written is not None and written.num_rows:
        keys = _unique(written.select(source.key))
        s, t = source.read_keys_in(keys), target.read_keys_in(keys)
        div.add(compare(s, t, source.key, propagate=propagate))
    col = source.range_column() if fingerprintable(source) else None
    if col is not None:
        bounds = []
        for side in (source, target):
            with side.naming_failures("leitura dos limites da chave"):
                bounds.append(column_bounds(*side.stats_side(col)))
        buckets = key_buckets(col, bounds, window.rows)
        chosen = window.choose(buckets)
        s_sums, t_sums = both_bucket_sums(source, target, buckets, chosen)
    if col is None or s_sums.get(None) != t_sums.get(None):
        # no integer ranges (or NULL keys that differ): the exact comparison, in Arrow
        full, counts, sums = _full(source, target, chunk_rows, propagate)
        return _dedup(div.add(full)), counts, sums, FULL, None
    bad = sorted(b for b in set(s_sums) | set(t_sums) if s_sums.get(b) != t_sums.get(b))
    for b in bad:
        s, t = read_both(source, target, range_condition(source.col(col), buckets.range(b)),
                         range_condition(target.col(col), buckets.range(b)))
        div.add(compare(s, t, source.key, propagate=propagate))
    if chosen is None:           # every range: the counts are the table's
        counts = (sum(n for n, _ in s_sums.values()), sum(n for n, _ in t_sums.values()))
    elif wrote:
        counts = both_counts(source, target)
    else:
        counts = (sum(n for n, _ in s_sums.values()), sum(n for n, _ in t_sums.values()))
    sums = tuple(f"{sum(h for _, h in d.values()) & ((1 << 64) - 1):016x}" for d in (s_sums, t_sums))
    mode = WRITTEN if chosen is None else (WINDOWED if wrote else IDLE)
    return _dedup(div), counts, sums, mode, (len(set(s_sums) | set(t_sums)), len(bad), buckets.count)


def _unique(keys: pa.Table) -> pa.Table:
    return keys.group_by(keys.column_names).aggregate([])


def _dedup(div: Divergence) -> Divergence:
    """A row found by the read-back and again in a re-read range counts once."""
    out = Divergence(div.key, compared=div.compared)
    for name in ("missing", "extra", "different"):
        parts = [p for p in getattr(div, name) if p.num_rows]
        if len(parts) > 1:
            whole = pa.concat_tables(parts)
            first = whole.select(div.key).append_column("__i", pa.array(range(whole.num_rows), pa.int64())) \
                .group_by(div.key).aggregate([("__i", "min")]).column("__i_min")
            parts = [whole.take(pc.take(first, pc.sort_indices(first)))]
        setattr(out, name, parts)
    return out


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


def _not_held(div: Divergence, held_keys: set) -> int:
    """How many of the differing rows' keys are not held ones (a lower bound when they outnumber
    the held keys: then some difference is unexplained anyway)."""
    n = div.total
    if not n or n > len(held_keys):
        return n
    return sum(1 for row in div.keys().to_pylist() if key_json(row) not in held_keys)
