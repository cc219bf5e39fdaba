"""Applying a unit whose tables the written side links by foreign keys, never violating one.

The items come parents-first (``sync/plan.py``). Within the unit's one transaction:

1. updates of a child whose parent loses rows in this apply, first: a row moved away from a
   parent being deleted must no longer point at it. Those whose new parent is inserted in this
   apply go with the foreign key NULL (when it may be NULL), set at step 5; else their new
   parents (and what those reference in turn) are inserted just before them;
2. deletes, children-first across the tables; a self-referencing table's rows children-first
   (their references read from the target, levels by ``reference_levels``);
3. inserts, parents-first; a self-referencing table's rows parents-first, and rows in a cycle
   inserted with the reference NULL (set at step 5), when it may be NULL;
4. the other updates, parents-first (a row re-parented to a row inserted at step 3 comes after it);
5. the references left NULL at steps 1 and 3.

A cycle through a NOT NULL column cannot be broken: ``DataError`` naming the table, the
constraint and the keys, before the cycle's rows are written.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.errors import DataError
from sinc_pipeline.io.fkorder import Link, member, reference_levels, with_nulls
from sinc_pipeline.io.writer import Execute, Hook, Target, apply_deletes, apply_inserts, apply_updates

KEY_CHUNK = 500


def apply_ordered(conn: Connection, items: list, found: list[Link], hook: Hook = None,
                  execute: Execute = None) -> list[dict]:
    counts = [{"inserted": 0, "updated": 0, "deleted": 0} for _ in items]
    inserts = [ch.inserts for _, ch in items]
    late = [ch.updates for _, ch in items]
    early: list[pa.Table | None] = [None] * len(items)
    fixups: list[tuple[int, pa.Table]] = []
    needed = [pa.array([False] * ins.num_rows, pa.bool_()) for ins in inserts]
    for i, (t, ch) in enumerate(items):                                    # 1. which updates go first
        mine = [lk for lk in found if lk.child == i]
        if not ch.updates.num_rows or not any(items[lk.parent][1].deletes.num_rows for lk in mine):
            continue
        waits = [lk for lk in mine if inserts[lk.parent].num_rows]
        mask = pa.array([False] * ch.updates.num_rows, pa.bool_())
        for lk in waits:
            mask = pc.or_(mask, member(ch.updates, lk.columns, inserts[lk.parent], lk.referred))
        early[i], waiting = ch.updates.filter(pc.invert(mask)), ch.updates.filter(mask)
        late[i] = waiting.slice(0, 0)
        if waiting.num_rows and all(lk.nullable for lk in waits):         # NULL now, set at step 5
            cols = _cols(waits)
            fixups.append((i, waiting.select(_unique(t.key + cols))))
            early[i] = pa.concat_tables([early[i], with_nulls(waiting, cols)])
        elif waiting.num_rows:                                              # their new parents go first
            early[i] = pa.concat_tables([early[i], waiting])
            for lk in waits:
                needed[lk.parent] = pc.or_(needed[lk.parent], member(inserts[lk.parent], lk.referred, waiting,
                                                                     lk.columns))
    if any(pc.any(m).as_py() for m in needed if len(m)):
        _close(needed, inserts, found)
        for i, (t, _) in enumerate(items):
            counts[i]["inserted"] += _insert(conn, t, inserts[i].filter(needed[i]), i, found, fixups, hook, execute)
            inserts[i] = inserts[i].filter(pc.invert(needed[i]))
    for i, (t, _) in enumerate(items):
        if early[i] is not None:
            counts[i]["updated"] += apply_updates(conn, t, early[i], hook, execute)
    for i in reversed(range(len(items))):                                  # 2. deletes, children-first
        t, ch = items[i]
        own = [lk for lk in found if lk.self and lk.child == i]
        counts[i]["deleted"] = (_delete_levels(conn, t, ch.deletes, own, hook, execute) if own and ch.deletes.num_rows
                                else apply_deletes(conn, t, ch.deletes, hook, execute))
    for i, (t, _) in enumerate(items):                                     # 3. inserts, parents-first
        counts[i]["inserted"] += _insert(conn, t, inserts[i], i, found, fixups, hook, execute)
    for i, (t, _) in enumerate(items):                                     # 4. the other updates
        counts[i]["updated"] += apply_updates(conn, t, late[i], hook, execute)
    for i, rows in fixups:                                                 # 5. references left NULL
        apply_updates(conn, items[i][0], rows, hook, execute)
    return counts


def _close(needed: list[pa.Array], inserts: list[pa.Table], found: list[Link]) -> None:
    """Add to ``needed`` the inserted rows that needed rows reference, until nothing changes."""
    changed = True
    while changed:
        changed = False
        for lk in found:
            rows = inserts[lk.child].filter(needed[lk.child])
            if not rows.num_rows or not inserts[lk.parent].num_rows:
                continue
            more = pc.or_(needed[lk.parent], member(inserts[lk.parent], lk.referred, rows, lk.columns))
            if pc.sum(more).as_py() != pc.sum(needed[lk.parent]).as_py():
                needed[lk.parent], changed = more, True


def _insert(conn: Connection, t: Target, rows: pa.Table, i: int, found: list[Link], fixups: list,
            hook: Hook, execute: Execute) -> int:
    """Insert one table's rows; a self-referencing table's parents-first, a cycle with the reference NULL."""
    own = [lk for lk in found if lk.self and lk.child == i]
    if not own or not rows.num_rows:
        return apply_inserts(conn, t, rows, hook, execute)
    levels, cycle = reference_levels(rows, [(lk.columns, lk.referred) for lk in own])
    n = sum(apply_inserts(conn, t, rows.take(level), hook, execute) for level in levels)
    if len(cycle):
        rows = rows.take(cycle)
        _breakable(t, own, rows, "inserir")
        fixups.append((i, rows.select(_unique(t.key + _cols(own)))))
        n += apply_inserts(conn, t, with_nulls(rows, _cols(own)), hook, execute)
    return n


def _cols(lks: list[Link]) -> list[str]:
    return _unique([c for lk in lks for c in lk.columns])


def _unique(cols: list[str]) -> list[str]:
    return list(dict.fromkeys(cols))


def _breakable(t: Target, own: list[Link], rows: pa.Table, verb: str) -> None:
    """A cycle of rows can be broken only through columns that accept NULL."""
    stuck = [lk for lk in own if not lk.nullable]
    if stuck:
        keys = [tuple(r.values()) for r in rows.select(t.key).slice(0, 10).to_pylist()]
        raise DataError(f"Ciclo de referências na tabela {t.table.name!r} (restrição {stuck[0].name}, colunas "
                        f"{', '.join(stuck[0].columns)}): não há ordem para {verb} as linhas de chave {keys} e a "
                        "coluna não aceita NULL; nada foi gravado",
                        hint="permita NULL na coluna da referência no banco gravado, ou desfaça o ciclo na origem "
                             "dos dados")


def _delete_levels(conn: Connection, t: Target, keys: pa.Table, own: list[Link], hook: Hook,
                   execute: Execute) -> int:
    """Delete a self-referencing table's rows children-first (references read from the target)."""
    cols = _unique(t.key + [c for lk in own for c in lk.columns + lk.referred])
    current = _current(conn, t, keys, cols)
    n = 0
    if current.num_rows:
        levels, cycle = reference_levels(current, [(lk.referred, lk.columns) for lk in own])
        for level in levels:
            n += apply_deletes(conn, t, current.take(level).select(t.key), hook, execute)
        if len(cycle):
            rows = current.take(cycle)
            _breakable(t, own, rows, "excluir")
            apply_updates(conn, t, with_nulls(rows.select(_unique(t.key + _cols(own))), _cols(own)), hook, execute)
            n += apply_deletes(conn, t, rows.select(t.key), hook, execute)
    gone = keys.filter(pc.invert(member(keys, t.key, current, t.key))) if current.num_rows else keys
    return n + apply_deletes(conn, t, gone, hook, execute)     # rows already absent: nothing to order


def _current(conn: Connection, t: Target, keys: pa.Table, cols: list[str]) -> pa.Table:
    """The target's current ``cols`` (logical names) of the rows with ``keys``."""
    key_cols = [t.table.c[t.physical[k]] for k in t.key]
    select = [t.table.c[t.physical[c]].label(c) for c in cols]
    where = [t.table.c[c] == sa.literal(v) for c, v in t.filters.items()]
    found: list = []
    for start in range(0, keys.num_rows, KEY_CHUNK):
        chunk = keys.slice(start, KEY_CHUNK)
        values = list(zip(*[chunk.column(k).to_pylist() for k in t.key]))
        cond = key_cols[0].in_([v[0] for v in values]) if len(key_cols) == 1 else sa.tuple_(*key_cols).in_(values)
        found += conn.execute(sa.select(*select).where(cond, *where)).fetchall()
    columns = list(zip(*found)) if found else [[] for _ in cols]
    return pa.table({c: pa.array(list(v), keys.schema.field(c).type if c in keys.schema.names else None)
                     for c, v in zip(cols, columns)})
