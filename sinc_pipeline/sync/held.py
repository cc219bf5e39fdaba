"""Held rows: a row the target cannot take holds back only itself and the rows that belong with it.

A row is *held* when its value is known not to fit before writing (``core/compat.misfits``:
text longer than a VARCHAR, too many digits, an integer too wide) or when the database refuses
it while writing (``io/isolate.py``: a constraint, a character the charset cannot hold). The
rows that belong with it are held too, by one rule, within the unit:

* **foreign keys**: rows of the unit's tables that reference a held row by a foreign key
  (declared at either side, self-references included) are held, and their own children, and so on;
* **the group's linking key**: in a group (a unit of several tables), every row sharing a held
  row's link value is held: ``fiscal.sale_link`` when it names the group's tables (a sale, its
  items and documents), else the key of the group's root table (the one the others reference by
  foreign key) and, in each table referencing it, the referencing columns.

Everything else of the unit is applied in the same transaction. Held rows are recorded in
``sinc_erros`` (``sync/held_store.py``), keep a cursor table's position at them (so they are
read again), and are retried on every run.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sinc_pipeline.core.compat import limit_of, misfits
from sinc_pipeline.core.layout import TablePlan
from sinc_pipeline.io.isolate import Items, Refused
from sinc_pipeline.io.writer import Target
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.diff import Changes

_I = "__sinc_pos"
EXCERPT = 40


def key_json(key: dict) -> str:
    """A held row's key as stored in ``sinc_erros.chave`` (and compared): sorted JSON."""
    return json.dumps(key, default=str, ensure_ascii=False, sort_keys=True)


def excerpt(value) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


@dataclass
class HeldRow:
    """One held row: table (config name), operation, key (logical store key), the column and a
    short excerpt of its value when known, why, and its cursor value (None: none or NULL)."""
    table: str
    op: str
    key: dict
    column: str | None
    value: str | None
    message: str
    cursor: object = None


@dataclass(frozen=True)
class _Link:
    child: int
    parent: int
    child_cols: tuple[str, ...]
    parent_cols: tuple[str, ...]


def _fk_links(plans: list[TablePlan]) -> list[_Link]:
    """Foreign keys between the unit's tables (either side's declaration), in logical names;
    column pairs the compared rows do not carry (a filter column the store lacks) are left out."""
    links = set()
    for side in ("origin", "store"):
        by_name = {(p.origin.name if side == "origin" else p.store.name): i for i, p in enumerate(plans)}
        for ci, plan in enumerate(plans):
            table = plan.origin if side == "origin" else plan.store
            logical = ({c: c for c in plan.columns} if side == "origin"
                       else {v: k for k, v in plan.mapping.physical.items()})
            for fk in table.foreign_key_constraints:
                pi = by_name.get(fk.referred_table.name)
                if pi is None:
                    continue
                pl = plans[pi]
                p_logical = ({c: c for c in pl.columns} if side == "origin"
                             else {v: k for k, v in pl.mapping.physical.items()})
                pairs = [(logical.get(el.parent.name), p_logical.get(el.column.name)) for el in fk.elements]
                pairs = [(c, r) for c, r in pairs if c in plan.mapping.store_columns and r in pl.mapping.store_columns]
                if pairs:
                    links.add(_Link(ci, pi, tuple(c for c, _ in pairs), tuple(r for _, r in pairs)))
    return sorted(links, key=lambda x: (x.parent, x.child, x.child_cols))


def _group_links(settings: Settings, plans: list[TablePlan], fks: list[_Link]) -> dict[int, tuple[str, ...]]:
    """Tables of the group -> their columns holding the group's linking key (see the module docstring)."""
    if len(plans) < 2:
        return {}
    link = settings.fiscal.sale_link if settings.fiscal is not None else {}
    out = {i: (link[p.config.name],) for i, p in enumerate(plans)
           if p.config.name in link and link[p.config.name] in p.mapping.store_columns}
    if len(out) > 1:
        return out
    cross = [ln for ln in fks if ln.child != ln.parent]
    roots = {ln.parent for ln in cross} - {ln.child for ln in cross}
    if len(roots) != 1:
        return {}
    root = roots.pop()
    out = {}
    for ln in cross:
        if ln.parent == root:
            order = sorted(range(len(ln.parent_cols)), key=lambda j: ln.parent_cols[j])
            out.setdefault(root, tuple(ln.parent_cols[j] for j in order))
            if out[root] == tuple(ln.parent_cols[j] for j in order):
                out.setdefault(ln.child, tuple(ln.child_cols[j] for j in order))
    return out if len(out) > 1 else {}


def _match(table: pa.Table, cols: list[str], values: pa.Table) -> np.ndarray:
    """Mask of the rows of ``table`` whose ``cols`` equal a row of ``values`` (same names)."""
    mask = np.zeros(table.num_rows, dtype=bool)
    if not table.num_rows or not values.num_rows:
        return mask
    try:
        vals = pa.table({c: pc.cast(values.column(c), table.schema.field(c).type) for c in cols})
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return mask
    vals = vals.group_by(cols).aggregate([])
    idx = table.select(cols).append_column(_I, pa.array(np.arange(table.num_rows), pa.int64()))
    hit = idx.join(vals, keys=cols, join_type="left semi").column(_I).to_numpy()
    mask[hit] = True
    return mask


def _rows(ch: Changes) -> pa.Table:
    """Inserts then updates: the rows that would be written (the masks below index this)."""
    return pa.concat_tables([ch.inserts, ch.updates]) if ch.updates.num_rows else ch.inserts


class Holder:
    """The holding rule for one unit (see the module docstring), over its changes."""

    def __init__(self, settings: Settings, plans: list[TablePlan]):
        self.plans = plans
        self.fks = _fk_links(plans)
        self.groups = _group_links(settings, plans, self.fks)

    # -- the closure -----------------------------------------------------------------------
    def close(self, items: Items, seeds: list[np.ndarray]) -> list[np.ndarray]:
        """The rows held with ``seeds`` (per item, a mask over ``_rows``), seeds included."""
        rows = [_rows(ch) for _, ch in items]
        held = [s.copy() for s in seeds]
        grown = True
        while grown:
            grown = False
            for ln in self.fks:
                parents = rows[ln.parent].filter(pa.array(held[ln.parent]))
                if not parents.num_rows:
                    continue
                values = pa.table({c: parents.column(r) for c, r in zip(ln.child_cols, ln.parent_cols)})
                new = _match(rows[ln.child], list(ln.child_cols), values) & ~held[ln.child]
                if new.any():
                    held[ln.child] |= new
                    grown = True
            if self.groups and self._group_step(rows, held):
                grown = True
        return held

    def _group_step(self, rows: list[pa.Table], held: list[np.ndarray]) -> bool:
        """Hold every row sharing a held row's group link value; True when a row was added."""
        parts = [rows[i].filter(pa.array(held[i])).select(list(cols)) for i, cols in self.groups.items()
                 if held[i].any()]
        if not parts:
            return False
        names = [f"g{j}" for j in range(parts[0].num_columns)]
        try:
            values = pa.concat_tables([p.rename_columns(names).cast(parts[0].rename_columns(names).schema)
                                       for p in parts])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        grown = False
        for i, cols in self.groups.items():
            new = _match(rows[i], list(cols), pa.table({c: values.column(j) for j, c in enumerate(cols)})) & ~held[i]
            if new.any():
                held[i] |= new
                grown = True
        return grown

    def _seeds(self, items: Items, refused: list[Refused]) -> list[np.ndarray]:
        seeds = []
        for i, (t, ch) in enumerate(items):
            rows = _rows(ch)
            mine = [r.row for r in refused if r.item == i and r.op != "delete"]
            keys = pa.Table.from_pylist([{k: r[k] for k in t.key} for r in mine],
                                        schema=pa.schema([rows.schema.field(k) for k in t.key])) if mine else None
            seeds.append(_match(rows, t.key, keys) if keys is not None else np.zeros(rows.num_rows, dtype=bool))
        return seeds

    @staticmethod
    def without(items: Items, held: list[np.ndarray], refused: list[Refused] = ()) -> Items:
        """The items without the held rows (and without the refused deletes)."""
        out = []
        for i, ((t, ch), mask) in enumerate(zip(items, held)):
            n = ch.inserts.num_rows
            keep_i, keep_u = pa.array(~mask[:n]), pa.array(~mask[n:])
            deletes = ch.deletes
            gone = [r.row for r in refused if r.item == i and r.op == "delete"]
            if gone:
                keys = pa.Table.from_pylist(gone, schema=deletes.schema)
                deletes = deletes.filter(pa.array(~_match(deletes, t.key, keys)))
            out.append((t, Changes(ch.inserts.filter(keep_i), ch.updates.filter(keep_u), deletes)))
        return out

    def linked(self, items: Items, held: list[np.ndarray], seeds: list[np.ndarray], why: list[Refused]) -> list[Refused]:
        """The rows held only because they belong with a refused (or misfit) row."""
        first = why[0] if why else None
        reason = ("retida junto com a linha recusada" + (
            f" da tabela {self.plans[first.item].config.name!r}, chave "
            f"{key_json({k: first.row.get(k) for k in items[first.item][0].key})}: {first.message}" if first else ""))
        out = []
        for i, (t, ch) in enumerate(items):
            extra = held[i] & ~seeds[i]
            if not extra.any():
                continue
            n = ch.inserts.num_rows
            rows = _rows(ch).filter(pa.array(extra)).to_pylist()
            ops = ["insert" if p < n else "update" for p in np.flatnonzero(extra)]
            out += [Refused(i, op, r, reason, linked=True) for op, r in zip(ops, rows)]
        return out

    # -- the two entry points ---------------------------------------------------------------
    def expand(self, items: Items, refused: list[Refused]):
        """For ``io.isolate.apply_isolating``: (items without the refused rows and the rows held
        with them, those linked rows), or None when no other row belongs with the refused ones."""
        seeds = self._seeds(items, refused)
        held = self.close(items, seeds)
        linked = self.linked(items, held, seeds, refused)
        if not linked:
            return None
        return self.without(items, held, refused), linked

    def hold_misfits(self, items: Items, engine: str) -> tuple[Items, list[HeldRow]]:
        """Before anything is written: the rows with a value their target column cannot hold
        (``core.compat.misfits``), and the rows that belong with them, held; the rest goes on."""
        found: list[Refused] = []
        for i, (t, ch) in enumerate(items):
            limits = {c: lim for c, phys in t.physical.items()
                      if (lim := limit_of(t.table.c[phys].type, engine)) is not None}
            if not limits:
                continue
            rows = _rows(ch)
            numbered = rows.append_column(_I, pa.array(np.arange(rows.num_rows), pa.int64()))
            n = ch.inserts.num_rows
            seen = set()
            for bad in misfits(numbered, limits, [_I], most=max(rows.num_rows, 1)):
                pos = bad["chave"][_I]
                if pos in seen:
                    continue
                seen.add(pos)
                row = rows.slice(pos, 1).to_pylist()[0]
                found.append(Refused(i, "insert" if pos < n else "update", row,
                                     f"valor não cabe na coluna {t.physical[bad['coluna']]!r} ({bad['tipo']})",
                                     column=bad["coluna"]))
        return self.hold(items, found)

    def hold(self, items: Items, found: list[Refused]) -> tuple[Items, list[HeldRow]]:
        """Hold ``found`` (rows of ``items`` found bad before writing, by any check) and the rows
        that belong with them: (the items without them, what to record). A preflight check that
        reports rather than refuses (e.g. characters a column's charset cannot hold) calls this."""
        if not found:
            return items, []
        seeds = self._seeds(items, found)
        held = self.close(items, seeds)
        linked = self.linked(items, held, seeds, found)
        return self.without(items, held, found), self.held(items, found + linked)

    # -- what is recorded -------------------------------------------------------------------
    def held(self, items: Items, refused: list[Refused]) -> list[HeldRow]:
        out = []
        for r in refused:
            t: Target = items[r.item][0]
            plan = self.plans[r.item]
            column = r.column or _column_in(r.message, t)
            cursor = plan.config.cursor
            out.append(HeldRow(plan.config.name, r.op, {k: r.row.get(k) for k in t.key}, column,
                               excerpt(r.row.get(column)) if column else None, r.message,
                               r.row.get(cursor) if cursor else None))
        return out


def _column_in(message: str, t: Target) -> str | None:
    """The logical column a database message names, when it names one of the table's columns."""
    for logical, phys in sorted(t.physical.items(), key=lambda kv: -len(kv[1])):
        if re.search(rf"[`'\"(.]{re.escape(phys)}[`'\")]|\b{re.escape(phys)}\b\s*(<|>|=|IS|is|\))", message):
            return logical
    return None


def floors(held: list[HeldRow]) -> dict[str, object]:
    """Per table, the lowest cursor value among its held rows: the cursor stays there."""
    out: dict[str, object] = {}
    for h in held:
        if h.cursor is not None and (h.table not in out or h.cursor < out[h.table]):
            out[h.table] = h.cursor
    return out
