"""One sync unit for one store, without Dagster: read -> map -> diff -> write -> report.

A unit is a group of tables (or a lone table) of one direction. Its changes are applied on
the target in ONE transaction together with the cursor positions, so the unit reaches the
other side whole or not at all, and a crashed run is simply run again.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.io.checksum import RunningChecksum
from sinc_pipeline.settings import Settings, StoreConfig, TableConfig
from sinc_pipeline.core.db import connect
from sinc_pipeline.sync.diff import Changes, assert_unique, diff_tables
from sinc_pipeline.io.fastread import FastReader, open_fast_reader
from sinc_pipeline.io.reader import read_fastest, select_sql
from sinc_pipeline.core.layout import TablePlan, resolve_plan
from sinc_pipeline.sync.state import ensure_state_table, get_cursor, lookback, set_cursor
from sinc_pipeline.io.writer import Hook, Target, apply

KEY_CHUNK = 500
log = logging.getLogger(__name__)


@dataclass
class GateInput:
    """What a gate sees before a unit is applied: the changes, in the logical compare space."""
    store: StoreConfig
    direction: str
    plans: list[TablePlan]
    changes: dict[str, Changes]          # table name -> changes (inserts/updates/deletes)
    target: Connection                   # the write connection, inside the unit's transaction
    run_id: str | None


@dataclass
class GateOutput:
    changes: dict[str, Changes]                                # what may be applied
    held_cursor: dict[str, object] = field(default_factory=dict)  # table -> lowest cursor of held rows
    write: Callable[[Connection], None] | None = None          # extra writes, same transaction
    report: dict[str, dict] = field(default_factory=dict)      # table -> metadata for its result


Gate = Callable[[GateInput], GateOutput]


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
    extra: dict = field(default_factory=dict)   # metadata added by a gate (e.g. held documents)

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Side:
    """One side of a table, in the logical compare space."""
    conn: Connection
    table: sa.Table
    physical: dict[str, str]
    filters: dict                       # logical -> value
    schema: pa.Schema
    key: list[str]
    label: str
    chunk: int = 50_000
    fast: FastReader | None = None

    def select(self, columns: Sequence[str] | None = None, extra=None) -> sa.Select:
        return select_sql(self.table, self.physical, columns or self.schema.names, self.filters, extra)

    def read(self, columns: Sequence[str] | None = None, extra=None) -> pa.Table:
        schema = self.schema if columns is None else pa.schema([self.schema.field(c) for c in columns])
        return read_fastest(self.conn, self.table, self.physical, self.filters, extra, schema, self.chunk, self.fast)

    def col(self, logical: str):
        return self.table.c[self.physical[logical]]

    def read_keys_in(self, keys: pa.Table) -> pa.Table:
        """The rows whose key is in ``keys`` (looked up in chunks of bound parameters)."""
        parts = [self.read(extra=sa.false())]
        rows = keys.to_pylist()
        cols = [self.col(k) for k in self.key]
        for i in range(0, len(rows), KEY_CHUNK):
            chunk = rows[i:i + KEY_CHUNK]
            if len(cols) == 1:
                cond = cols[0].in_([r[self.key[0]] for r in chunk])
            else:
                cond = sa.tuple_(*cols).in_([tuple(r[k] for k in self.key) for r in chunk])
            parts.append(self.read(extra=cond))
        return pa.concat_tables(parts)


def _sides(plan: TablePlan, direction: str, src: Connection, tgt: Connection, chunk: int,
           fast: tuple[FastReader | None, FastReader | None] = (None, None)) -> tuple[Side, Side]:
    m = plan.mapping
    cols = m.store_columns
    schema = pa.schema([plan.schema.field(c) for c in cols])
    origin_conn, store_conn = (src, tgt) if direction == "receive" else (tgt, src)
    origin_fast, store_fast = fast if direction == "receive" else fast[::-1]
    origin = Side(origin_conn, plan.origin, {c: c for c in m.columns}, plan.origin_filter, schema, m.store_key,
                  "origem", chunk, origin_fast)
    store = Side(store_conn, plan.store, m.physical, plan.store_filter, schema, m.store_key, "loja", chunk,
                 store_fast)
    return (origin, store) if direction == "receive" else (store, origin)


def _target(plan: TablePlan, direction: str) -> Target:
    m = plan.mapping
    if direction == "receive":
        return Target(plan.store, m.physical, m.store_key,
                      {m.physical[c]: v for c, v in plan.store_filter.items()}, {})
    ident = {c: c for c in m.columns}
    return Target(plan.origin, ident, m.store_key, dict(plan.origin_filter), dict(m.constants))


def _where(side: Side, table: str) -> str:
    return f"{side.label} tabela {side.table.name!r} ({table})"


def _range_column(side: Side) -> str | None:
    """The key column to split a large table on: the first integer key column not fixed by the filter."""
    for k in side.key:
        if k not in side.filters and pa.types.is_integer(side.schema.field(k).type):
            return k
    return None


def key_ranges(source: Side, target: Side, chunk_rows: int) -> list[tuple[int, int]] | None:
    """Half-open key ranges of about ``chunk_rows`` rows each, or None when one read is enough."""
    col = _range_column(source)
    if col is None:
        return None
    stats = []
    for side in (source, target):
        c = side.col(col)
        stmt = side.select([col]).with_only_columns(sa.func.count(), sa.func.min(c), sa.func.max(c))
        stats.append(side.conn.execute(stmt).one())
    count = max(int(stats[0][0]), int(stats[1][0]))
    if count <= chunk_rows:
        return None
    lo = min(int(v[1]) for v in stats if v[1] is not None)
    hi = max(int(v[2]) for v in stats if v[2] is not None) + 1
    n = -(-count // chunk_rows)
    step = max(1, -(-(hi - lo) // n))
    return [(a, min(a + step, hi)) for a in range(lo, hi, step)]


def _read_both(source: Side, target: Side, extra_s, extra_t) -> tuple[pa.Table, pa.Table]:
    """Read both sides at once: the engines and Arrow release the GIL, so two cores are used."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(target.read, None, extra_t)
        s = source.read(extra=extra_s)
        return s, future.result()


def ranged_reads(source: Side, target: Side, chunk_rows: int) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Both sides, whole, as (source, target) pieces: one per key range when the table is large."""
    col = _range_column(source)
    for rng in key_ranges(source, target, chunk_rows) or [None]:
        extra_s = extra_t = None
        if rng is not None:
            extra_s = sa.and_(source.col(col) >= rng[0], source.col(col) < rng[1])
            extra_t = sa.and_(target.col(col) >= rng[0], target.col(col) < rng[1])
        yield _read_both(source, target, extra_s, extra_t)


def _full_diff(plan: TablePlan, source: Side, target: Side, chunk_rows: int) -> tuple[Changes, int, object]:
    """Compare everything, one key range at a time when the table is large (bounded memory)."""
    cfg, key = plan.config, source.key
    parts, compared, new_pos = [], 0, None
    for s, t in ranged_reads(source, target, chunk_rows):
        assert_unique(s, key, _where(source, cfg.name))
        assert_unique(t, key, _where(target, cfg.name))
        parts.append(diff_tables(s, t, key))
        compared += s.num_rows
        if cfg.cursor:
            m = _max(s, cfg.cursor)
            if m is not None and (new_pos is None or m > new_pos):
                new_pos = m
    if len(parts) == 1:
        return parts[0], compared, new_pos
    return Changes(pa.concat_tables([p.inserts for p in parts]), pa.concat_tables([p.updates for p in parts]),
                   pa.concat_tables([p.deletes for p in parts])), compared, new_pos


def compute_changes(plan: TablePlan, source: Side, target: Side, position,
                    chunk_rows: int = 500_000) -> tuple[Changes, int, object]:
    """Changes that make target equal source, the number of rows compared and the new cursor."""
    cfg = plan.config
    key = source.key
    propagate = cfg.delete_policy == "propagate"
    if cfg.cursor is None or position is None:
        changes, compared, new_pos = _full_diff(plan, source, target, chunk_rows)
        if not propagate:
            changes.deletes = changes.deletes.slice(0, 0)
        return changes, compared, new_pos if new_pos is not None else position
    cur = source.col(cfg.cursor)
    # Two index-friendly reads rather than one OR: the window above the position, and NULLs.
    s = pa.concat_tables([source.read(extra=cur >= lookback(position, cfg.cursor_lookback)),
                          source.read(extra=cur.is_(None))])
    assert_unique(s, key, _where(source, cfg.name))
    t = target.read_keys_in(s.select(key))
    changes = diff_tables(s, t, key)
    changes.deletes = changes.deletes.slice(0, 0)
    if propagate and not _keys_agree(source, target, changes):
        sk, tk = source.read(key), target.read(key)
        changes.deletes = diff_tables(sk, tk, key).deletes
    new_pos = _max(s, cfg.cursor)
    if new_pos is None or (position is not None and new_pos < position):
        new_pos = position
    return changes, s.num_rows, new_pos


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


def _max(table: pa.Table, column: str):
    if table.num_rows == 0:
        return None
    return pc.max(table.column(column)).as_py()


def _roles(store: StoreConfig, settings: Settings, direction: str) -> tuple[tuple[str, str], tuple[str, str]]:
    origin = (settings.origin.url, "de origem")
    local = (store.url, f"da loja {store.id}")
    return (origin, local) if direction == "receive" else (local, origin)


def sync_unit(settings: Settings, store_id: str, unit: list[TableConfig], *, run_id: str | None = None,
              hook: Hook = None, gate: Gate | None = None) -> list[TableResult]:
    """Sync one unit for one store; returns one result per table.

    ``gate`` (optional) may hold back rows before the apply (fiscal checks do), write extra
    rows in the same transaction, and keep the cursor below held rows so they are re-read.
    """
    store = settings.store(store_id)
    direction = unit[0].direction
    (src_url, src_role), (tgt_url, tgt_role) = _roles(store, settings, direction)
    with connect(tgt_url, tgt_role) as conn:
        ensure_state_table(conn)
    results: list[TableResult] = []
    with connect(src_url, src_role, snapshot=True) as src, connect(tgt_url, tgt_role, write=True) as tgt, \
            _fast_readers(src_url, tgt_url) as fast:
        origin_conn, store_conn = (src, tgt) if direction == "receive" else (tgt, src)
        plans = [resolve_plan(t, store, origin_conn, settings.origin.url, store_conn, store.url) for t in unit]
        items, positions = [], []
        for plan in plans:
            t0 = time.perf_counter()
            source, target = _sides(plan, direction, src, tgt, settings.chunk_size, fast)
            position = get_cursor(tgt, store.id, plan.config.name, direction) if plan.config.cursor else None
            changes, compared, new_pos = compute_changes(plan, source, target, position, settings.diff_chunk_rows)
            items.append((_target(plan, direction), changes))
            results.append(TableResult(plan.config.name, direction, store.id,
                                       "cursor" if plan.config.cursor else "diff", compared,
                                       cursor=None if new_pos is None else str(new_pos),
                                       duration_s=time.perf_counter() - t0))
            positions.append(new_pos)
        t0 = time.perf_counter()
        if gate is not None:
            out = gate(GateInput(store, direction, plans, {p.config.name: ch for p, (_, ch) in zip(plans, items)},
                                 tgt, run_id))
            items = [(target, out.changes[p.config.name]) for p, (target, _) in zip(plans, items)]
            for i, (p, r) in enumerate(zip(plans, results)):
                r.extra.update(out.report.get(p.config.name, {}))
                held = out.held_cursor.get(p.config.name)
                if held is not None and (positions[i] is None or held < positions[i]):
                    positions[i] = held
                    r.cursor = str(held)
            if out.write is not None:
                out.write(tgt)
        counts = apply(tgt, items, hook)
        for plan, pos in zip(plans, positions):
            if plan.config.cursor:
                set_cursor(tgt, store.id, plan.config.name, direction, pos, run_id)
        apply_s = time.perf_counter() - t0
    for r, c in zip(results, counts):
        r.inserted, r.updated, r.deleted = c["inserted"], c["updated"], c["deleted"]
        r.duration_s = round(r.duration_s + apply_s / len(results), 4)
    return results


@contextlib.contextmanager
def _fast_readers(src_url: str, tgt_url: str):
    """ADBC readers for both sides when available (see fastread.py), closed at the end."""
    readers = (open_fast_reader(src_url), open_fast_reader(tgt_url))
    try:
        yield readers
    finally:
        for r in readers:
            if r is not None:
                r.close()


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
    (src_url, src_role), (tgt_url, tgt_role) = _roles(store, settings, direction)
    with connect(src_url, src_role, snapshot=True) as src, connect(tgt_url, tgt_role, snapshot=True) as tgt:
        origin_conn, store_conn = (src, tgt) if direction == "receive" else (tgt, src)
        plan = resolve_plan(table, store, origin_conn, settings.origin.url, store_conn, store.url)
        with _fast_readers(src_url, tgt_url) as fast:
            source, target = _sides(plan, direction, src, tgt, settings.chunk_size, fast)
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
