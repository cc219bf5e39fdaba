"""Row order under foreign keys: which rows go first, columnar (Arrow joins, no per-row Python).

``links`` finds the foreign keys the written side declares between the tables of one apply
(``Target.table`` as reflected), in logical column names. ``reference_levels`` splits rows
into levels so that no row comes before a row it depends on (parents-first for inserts, or
children-first for deletes, by swapping the column lists); rows left over form cycles.
``io/writer.py`` ``apply`` uses both.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

Pair = tuple[list[str], list[str]]


@dataclass(frozen=True)
class Link:
    """A foreign key from item ``child`` to item ``parent`` (indices in the apply's items)."""
    child: int
    parent: int
    columns: list[str]         # child's logical columns
    referred: list[str]        # parent's logical columns
    nullable: bool             # every child column accepts NULL (a cycle can be broken)
    name: str

    @property
    def self(self) -> bool:
        return self.child == self.parent


def links(targets: list) -> list[Link]:
    """The written side's foreign keys between ``targets`` (``io.writer.Target``), mapped to
    logical names. A pair of columns that are both constants of equal value (a store filter
    column added on send) is left out; a key with a column that is not synced is skipped."""
    index = {(t.table.schema, t.table.name): i for i, t in enumerate(targets)}
    out: list[Link] = []
    for i, t in enumerate(targets):
        back = {p: lg for lg, p in t.physical.items()}
        for fk in t.table.foreign_key_constraints:
            # the referred table by name: reflection does not resolve it (core/layout.py reflect_table)
            *schema, ref_name, _ = fk.elements[0].target_fullname.split(".")
            j = index.get((schema[-1] if schema else t.table.schema, ref_name))
            if j is None:
                continue
            pback = {p: lg for lg, p in targets[j].physical.items()}
            cols, refs, ok = [], [], True
            for local, element in zip(fk.column_keys, fk.elements):
                remote = element.target_fullname.split(".")[-1]
                if local in t.constants and remote in targets[j].constants and \
                        t.constants[local] == targets[j].constants[remote]:
                    continue
                if local not in back or remote not in pback:
                    ok = False
                    break
                cols.append(back[local])
                refs.append(pback[remote])
            if ok and cols:
                nullable = all(t.table.c[c].nullable for c in fk.column_keys if c not in t.constants)
                out.append(Link(i, j, cols, refs, nullable, fk.name or f"{t.table.name}({', '.join(cols)})"))
    return out


def member(rows: pa.Table, cols: list[str], others: pa.Table, other_cols: list[str]) -> pa.Array:
    """Boolean mask: the rows whose ``cols`` values (none NULL) are among ``others``' ``other_cols`` values."""
    if not rows.num_rows or not others.num_rows:
        return pa.array([False] * rows.num_rows, pa.bool_())
    names = [f"_m{k}" for k in range(len(cols))]
    left = pa.table([rows.column(c) for c in cols] + [pa.array(range(rows.num_rows), pa.int64())],
                    names=names + ["_i"])
    right_cols = []
    for c, oc in zip(cols, other_cols):
        col = others.column(oc)
        want = rows.schema.field(c).type
        right_cols.append(col if col.type == want else pc.cast(col, want))
    right = pa.table(right_cols, names=names)
    hit = left.join(right, keys=names, join_type="left semi").column("_i")
    return pc.is_in(pa.array(range(rows.num_rows), pa.int64()), value_set=hit.combine_chunks())


def reference_levels(rows: pa.Table, pairs: list[Pair]) -> tuple[list[pa.Array], pa.Array]:
    """(levels, leftover): index arrays into ``rows``, level 0 first. A row waits while its
    ``match`` values (for any ``(match, against)`` pair) are among the ``against`` values of the
    rows still waiting. Parents-first inserts: ``(fk columns, referred columns)``; children-first
    deletes: ``(referred columns, fk columns)``. Rows that never become free are in cycles."""
    idx = pa.array(range(rows.num_rows), pa.int64())
    levels: list[pa.Array] = []
    remaining, rem_idx = rows, idx
    while remaining.num_rows:
        blocked = pa.array([False] * remaining.num_rows, pa.bool_())
        for match, against in pairs:
            blocked = pc.or_(blocked, member(remaining, match, remaining, against))
        free = pc.invert(blocked)
        if not pc.any(free).as_py():
            break
        levels.append(pc.filter(rem_idx, free))
        remaining, rem_idx = remaining.filter(blocked), pc.filter(rem_idx, blocked)
    return levels, rem_idx


def with_nulls(rows: pa.Table, cols: list[str]) -> pa.Table:
    """``rows`` with ``cols`` set to NULL (a cycle broken: inserted so, then updated)."""
    for c in cols:
        i = rows.schema.get_field_index(c)
        rows = rows.set_column(i, rows.schema.field(i), pa.nulls(rows.num_rows, rows.schema.field(i).type))
    return rows
