"""One sync unit for one store, without Dagster: read -> map -> diff -> write -> report.

A unit is a group of tables (or a lone table) of one direction. Its changes are applied on
the target in ONE transaction together with the cursor positions, so the unit reaches the
other side whole or not at all, and a crashed run is simply run again. A row the target cannot
take (``sync/held.py``) is held with the rows that belong with it, recorded in ``sinc_erros``
in the same transaction, and retried by the next run; the rest of the unit is applied.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import asdict, dataclass, field

from sinc_pipeline.capture.applying import applying
from sinc_pipeline.capture.maintenance import after_journal
from sinc_pipeline.core.db import connect
from sinc_pipeline.core.engines import engine_of
from sinc_pipeline.core.errors import naming_failures
from sinc_pipeline.core.layout import resolve_plan
from sinc_pipeline.core.logs import run_scope
from sinc_pipeline.fiscal.gate import gate_for_unit
from sinc_pipeline.io.fastread import open_fast_reader
from sinc_pipeline.io.isolate import apply_isolating
from sinc_pipeline.io.writer import Hook
from sinc_pipeline.settings import Settings, StoreConfig, TableConfig
from sinc_pipeline.sync.changes import Window, batch_upper, compute_changes
from sinc_pipeline.sync.gate import Gate, GateInput
from sinc_pipeline.sync.held import Holder, floors as held_floors, key_json
from sinc_pipeline.sync.held_store import record
from sinc_pipeline.sync.sides import sides_for, target_for
from sinc_pipeline.sync.state import clear_repair, get_cursor, prepare_state, repair_marked, set_cursor
from sinc_pipeline.sync.written import add_written, written_keys

log = logging.getLogger(__name__)


@dataclass
class TableResult:
    table: str
    direction: str
    store: str
    mode: str
    compared: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    duration_s: float = 0.0
    cursor: str | None = None
    held: int = 0                                # rows held back (sync/held.py), recorded in sinc_erros
    extra: dict = field(default_factory=dict)   # metadata added by a gate (e.g. held documents)
    levels: set = field(default_factory=set)    # keys of ``extra`` that are levels, not counts
    written: object = field(default=None, repr=False, compare=False)   # keys written (sync/written.py), for the check
    repaired: bool = False                      # compared in full because a check had marked it (sync/state.py)
    preview: object = field(default=None, repr=False, compare=False)   # simulate: the changes that would be written
    plan: object = field(default=None, repr=False, compare=False)      # the TablePlan synced, reused by its check

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted

    def as_dict(self) -> dict:
        kept, self.written, self.preview, self.plan = (self.written, self.preview, self.plan), None, None, None
        try:   # Arrow tables and the plan are not copied into the dict
            return asdict(self)
        finally:
            self.written, self.preview, self.plan = kept


def roles(store: StoreConfig, settings: Settings, direction: str) -> tuple[tuple[str, str], tuple[str, str]]:
    origin = (settings.origin.url, "de origem")
    local = (store.url, f"da loja {store.id}")
    return (origin, local) if direction == "receive" else (local, origin)


def gate_for(settings: Settings, unit: list[TableConfig]) -> Gate | None:
    """The checks a unit must pass before it is applied, derived from the settings: today the
    fiscal gate of a send unit holding the documents table (``fiscal/gate.py``), else none."""
    return gate_for_unit(settings, unit)


def sync_unit(settings: Settings, store_id: str, unit: list[TableConfig], *, run_id: str | None = None,
              hook: Hook = None, batches: bool = True, simulate: bool = False) -> list[TableResult]:
    """Sync one unit for one store; returns one result per table.

    The unit's gate (``gate_for``) may hold back rows before the apply (the fiscal checks do),
    write extra rows in the same transaction, and keep the cursor below held rows so they are
    re-read. ``hook`` is called between the writes (tests use it to simulate a crash). Slower
    paths taken on the way are warned once per table in the run (``core.logs.run_scope``).

    A unit whose tables all have a cursor goes in batches of about ``settings.batch_rows`` rows
    per table (cursor windows, each its own transaction with its cursors): a store that comes
    back with a week of sales sends them with memory that stays flat, and a crash keeps what
    the batches before it committed. Below ``batch_rows`` it is one transaction, as before.
    ``batches=False`` (a unit whose tables are linked by foreign keys, ``sync/fks.py``): always
    one transaction, since a parent row may fall in a later cursor window than its child.

    ``simulate`` (the preview, ``simular``): everything is computed and applied inside the
    target's transaction, which is then rolled back; nothing that could create a table (held
    rows, the fiscal quarantine, the state table) is written and the journal's producer copy
    is left alone. Each result's ``preview`` holds the changes that would be written, the
    counts are those of the rolled-back apply (the rows the target refuses counted as held).
    """
    with run_scope(run_id):
        return _sync_unit(settings, store_id, unit, run_id, hook, batches and not simulate, simulate)


def _sync_unit(settings: Settings, store_id: str, unit: list[TableConfig], run_id: str | None,
               hook: Hook, batches: bool, simulate: bool = False) -> list[TableResult]:
    store = settings.store(store_id)
    gate = gate_for(settings, unit)
    marked = _marked(settings, store, unit)
    batched = batches and all(t.cursor for t in unit) and not marked
    results: list[TableResult] | None = None
    window, floors, plans, seen = Window(), {}, [], set()
    while True:
        part, upper = _sync_batch(settings, store, unit, gate, window if batched else None, floors, plans,
                                  seen, run_id, hook, marked, simulate)
        results = part if results is None else [_add(a, b) for a, b in zip(results, part)]
        if upper is None:
            return results
        window = Window(after=upper)


def _add(a: TableResult, b: TableResult) -> TableResult:
    a.compared, a.inserted, a.updated, a.deleted = (a.compared + b.compared, a.inserted + b.inserted,
                                                    a.updated + b.updated, a.deleted + b.deleted)
    a.held += b.held
    a.duration_s = round(a.duration_s + b.duration_s, 4)
    a.cursor = b.cursor if b.cursor is not None else a.cursor
    for k, v in b.extra.items():
        counted = k not in b.levels and isinstance(v, int) and isinstance(a.extra.get(k, 0), int)
        a.extra[k] = a.extra.get(k, 0) + v if counted else v
    a.levels |= b.levels
    a.written = add_written(a.written, b.written)
    a.repaired = a.repaired or b.repaired
    return a


def _sync_batch(settings: Settings, store: StoreConfig, unit: list[TableConfig], gate: Gate | None,
                window: Window | None, floors: dict, plans: list, seen: set, run_id: str | None, hook: Hook,
                marked: set = frozenset(), simulate: bool = False):
    """One transaction of the unit: (results, the window's upper bound or None when it was the last).

    ``plans`` is filled by the first batch (reflection and type checks) and reused by the next;
    ``floors`` (cursor positions held rows keep) and ``seen`` (rows held) last the whole run."""
    direction = unit[0].direction
    (src_url, src_role), (tgt_url, tgt_role) = roles(store, settings, direction)
    at = _Step(tgt_role if store.id in tgt_role else f"{tgt_role} (loja {store.id})", tgt_url)
    if not simulate:
        with at("preparação do estado"):
            prepare_state(tgt_url, tgt_role)
    results: list[TableResult] = []
    with at("abertura ou confirmação da transação"), connect(src_url, src_role, snapshot=True) as src, \
            connect(tgt_url, tgt_role, write=True) as tgt, fast_readers(src_url, tgt_url) as fast:
        origin_conn, store_conn = (src, tgt) if direction == "receive" else (tgt, src)
        if not plans:
            plans += [resolve_plan(t, store, origin_conn, settings.origin.url, store_conn, store.url) for t in unit]
        sides = [sides_for(plan, direction, src, tgt, settings.chunk_size, fast) for plan in plans]
        with at("leitura do cursor"):
            starts = [get_cursor(tgt, store.id, p.config.name, direction) if _positioned(p) else None
                      for p in plans]
        if window is not None:
            window = Window(window.after, _upper(plans, sides, starts, window, settings.batch_rows))
        items, positions = [], []
        for plan, (source, target), position in zip(plans, sides, starts):
            t0 = time.perf_counter()
            changes, compared, new_pos = compute_changes(plan, source, target, position, settings.diff_chunk_rows,
                                                         _bounded(window), settings.cursor_future_minutes,
                                                         journal_wait_s=settings.journal.gap_wait_seconds,
                                                         full=plan.config.name in marked)
            items.append((target_for(plan, direction), changes))
            results.append(TableResult(plan.config.name, direction, store.id,
                                       _mode(plan), compared,
                                       cursor=None if new_pos is None else str(new_pos),
                                       duration_s=time.perf_counter() - t0, extra=dict(changes.notes),
                                       plan=plan))
            positions.append(new_pos)
        t0 = time.perf_counter()
        if gate is not None:
            with at("verificação fiscal"):
                out = gate(GateInput(store, direction, plans,
                                     {p.config.name: ch for p, (_, ch) in zip(plans, items)}, tgt, run_id))
            items = [(target, out.changes[p.config.name]) for p, (target, _) in zip(plans, items)]
            for p, r in zip(plans, results):
                r.extra.update(out.report.get(p.config.name, {}))
                r.levels |= out.levels
                held = out.held_cursor.get(p.config.name)
                if held is not None and (p.config.name not in floors or held < floors[p.config.name]):
                    floors[p.config.name] = held
            if out.write is not None and not simulate:
                with at("gravação da quarentena fiscal"):
                    out.write(tgt)
        holder = Holder(settings, plans)
        items, held = holder.hold_misfits(items, engine_of(tgt))
        with at("gravação", ", ".join(p.config.name for p in plans)):
            with applying(tgt):   # the sync's own writes are not captured back (capture/applying.py)
                counts, refused = apply_isolating(tgt, items, hook, holder.expand)
        held += holder.held(items, refused)
        for name, floor in held_floors(held).items():
            if name not in floors or floor < floors[name]:
                floors[name] = floor
        with at("gravação dos erros de sincronização"):
            simulate or record(tgt, tgt_url, tgt_role, store.id, direction, [p.config.name for p in plans], held, seen,
                   window is None or window.upper is None, run_id)
        for i, (p, r) in enumerate(zip(plans, results)):   # held rows keep the cursor, later batches too
            if p.config.capture and (r.extra.get("linhas_retidas") or any(h.table == p.config.name for h in held)):
                # journal: held rows are read again from the old position
                positions[i], r.cursor = starts[i], None if starts[i] is None else str(starts[i])
            floor = floors.get(p.config.name)
            if floor is not None and (positions[i] is None or floor < positions[i]):
                positions[i] = floor
                r.cursor = str(floor)
        with at("gravação do cursor"):
            for plan, pos in zip(plans, positions):
                if _positioned(plan):
                    simulate or set_cursor(tgt, store.id, plan.config.name, direction, pos, run_id)
                if plan.config.name in marked and not simulate:   # repaired by this full diff, in its transaction
                    clear_repair(tgt, store.id, plan.config.name, direction)
        apply_s = time.perf_counter() - t0
        if simulate:
            tgt.rollback()
            for r, (_, ch) in zip(results, items):
                r.preview = ch
    if not simulate:
        after_journal(settings, store, direction, plans, positions)   # producer's copy of the positions, pruning
    for r, c, (_, ch), p in zip(results, counts, items, plans):
        r.inserted, r.updated, r.deleted = c["inserted"], c["updated"], c["deleted"]
        r.written, r.repaired = written_keys(ch, p.mapping.store_key), r.table in marked
        r.duration_s = round(r.duration_s + apply_s / len(results), 4)
        r.held = sum(1 for h in held if h.table == r.table)
        if r.held:
            first = next(h for h in held if h.table == r.table)
            log.warning("%s (loja %s): %d linha(s) retida(s), registradas em sinc_erros; a primeira, chave %s: %s",
                        r.table, store.id, r.held, key_json(first.key), first.message)
    return results, None if window is None else window.upper


def _marked(settings: Settings, store: StoreConfig, unit: list[TableConfig]) -> set:
    """The unit's tables a failed check marked for a repairing full diff (``sync/state.py``)."""
    direction = unit[0].direction
    _, (tgt_url, tgt_role) = roles(store, settings, direction)
    with naming_failures("leitura do estado", role=tgt_role, url=tgt_url), connect(tgt_url, tgt_role) as conn:
        out = {t.name for t in unit if repair_marked(conn, store.id, t.name, direction)}
    for name in sorted(out):
        log.warning("%s (loja %s): a última conferência encontrou diferenças; comparando a tabela inteira "
                    "para repará-las", name, store.id)
    return out


def _positioned(plan) -> bool:
    return bool(plan.config.cursor or plan.config.capture)


def _mode(plan) -> str:
    return plan.config.capture or ("cursor" if plan.config.cursor else "diff")


def _bounded(window: Window | None) -> Window | None:
    """The window the reads are bounded by; None (the unbatched reads) for a unit that fits in
    one batch from the start, so small units keep their first-run full diff."""
    if window is None or (window.after is None and window.upper is None):
        return None
    return window


def _upper(plans, sides, starts, window: Window, rows: int):
    """The batch's upper cursor bound: the lowest of each table's value ``rows`` rows into its
    window (None: every table's rest fits in this batch)."""
    bounds = [batch_upper(source, p.config.cursor, pos, p.config.cursor_lookback, window, rows)
              for p, (source, _), pos in zip(plans, sides, starts)]
    bounds = [b for b in bounds if b is not None]
    return min(bounds) if bounds else None


class _Step:
    """Names the step a driver error of the unit's target database happened in (the reads of
    either side name themselves, see ``Side.naming_failures``)."""

    def __init__(self, role: str, url: str):
        self.role, self.url = role, url

    def __call__(self, step: str, table: str | None = None):
        return naming_failures(step, role=self.role, url=self.url, table=table)


@contextlib.contextmanager
def fast_readers(src_url: str, tgt_url: str):
    """ADBC readers for both sides when available (see fastread.py), closed at the end."""
    readers = (open_fast_reader(src_url), open_fast_reader(tgt_url))
    try:
        yield readers
    finally:
        for r in readers:
            if r is not None:
                r.close()
