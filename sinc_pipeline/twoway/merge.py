"""Pure three-way merge of a two-way table (``direction: both``): origin rows O, store rows S
and the base B (each row's hashes at the last sync) -> the changes for each side, the new base
and the conflicts. Functions over Arrow tables, no database.

A row's value columns are split in three groups: ``origin_columns`` (owned by the origin),
``store_columns`` (owned by the store) and the rest (shared). Each group has its own hash in
the base, so a group changed on one side only is taken from that side, and a row where HQ
changed an owned column and the store another merges without a conflict. A shared group
changed on both sides (or a row inserted at both sides with different values) is a conflict,
decided by the rule: ``origin_wins``, ``store_wins``, ``newest_wins`` (the greater value of a
column; a tie goes to the origin) or ``manual`` (the row is left as it is on each side and
waits for ``resolver_conflitos``). A row deleted on one side and updated on the other is a
conflict the update wins (``manual``: it waits).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sinc_pipeline.sync.diff import Changes, rows_differ

GROUPS = ("o", "s", "x")          # origin-owned, store-owned, shared
SEP = "\x1f"
_NULL = "\x00"


@dataclass(frozen=True)
class Rule:
    """How a conflict of the shared columns is decided."""
    kind: str = "origin_wins"          # origin_wins | store_wins | newest_wins | manual
    column: str | None = None          # newest_wins: the column compared

    @classmethod
    def parse(cls, value) -> Rule:
        if value is None:
            return cls()
        if isinstance(value, dict):
            (kind, column), = value.items()
            return cls(kind, column)
        return cls(str(value))

    @property
    def label(self) -> str:
        return f"{self.kind}: {self.column}" if self.column else self.kind


@dataclass
class Merge:
    to_store: Changes
    to_origin: Changes
    base: pa.Table                 # chave + h_o, h_s, h_x of every row now in sync (written or not)
    base_drop: pa.Array            # chave texts whose base row goes (the row is gone on both sides)
    conflicts: list[dict] = field(default_factory=list)   # see ``_conflict``
    in_sync: int = 0               # rows equal on both sides that needed nothing


def key_text(table: pa.Table, key: list[str]) -> pa.Array:
    """Each row's key as one text (the columns as text joined by U+001F): the base's ``chave``."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    parts = [pc.fill_null(pc.cast(table.column(k), pa.string()), _NULL) for k in key]
    if len(parts) == 1:
        return parts[0].combine_chunks() if isinstance(parts[0], pa.ChunkedArray) else parts[0]
    out = pc.binary_join_element_wise(*parts, SEP)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def row_hash(table: pa.Table, columns: list[str]) -> pa.Array:
    """A 63-bit hash of each row's ``columns`` (vectorised: pandas' hash of the Arrow columns);
    0 for no columns. NULL and a value never hash alike (the NULL mask is hashed too)."""
    n = table.num_rows
    if not columns or n == 0:
        return pa.array(np.zeros(n, dtype=np.int64))
    frame = {}
    for c in columns:
        col = table.column(c)
        if pa.types.is_decimal(col.type) or pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            col = pc.cast(col, pa.string()) if pa.types.is_decimal(col.type) else pc.binary_length(col)
        frame[c] = col.to_pandas()
        frame[c + _NULL] = col.is_null().to_pandas()
    h = pd.util.hash_pandas_object(pd.DataFrame(frame), index=False).to_numpy()
    return pa.array((h >> np.uint64(1)).astype(np.int64))


def groups_of(columns: list[str], key: list[str], origin_columns, store_columns) -> dict[str, list[str]]:
    values = [c for c in columns if c not in key]
    o = [c for c in values if c in set(origin_columns or [])]
    s = [c for c in values if c in set(store_columns or []) and c not in o]
    return {"o": o, "s": s, "x": [c for c in values if c not in o and c not in s]}


def hashes(table: pa.Table, groups: dict[str, list[str]]) -> dict[str, np.ndarray]:
    return {g: row_hash(table, cols).to_numpy(zero_copy_only=False) for g, cols in groups.items()}


def base_table(keys: pa.Array, h: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({"chave": keys, **{f"h_{g}": pa.array(h[g], pa.int64()) for g in GROUPS}})


def empty_base() -> pa.Table:
    return base_table(pa.array([], pa.string()), {g: np.zeros(0, np.int64) for g in GROUPS})


def merge(origin: pa.Table, store: pa.Table, base: pa.Table, key: list[str], rule: Rule,
          origin_columns=(), store_columns=(), waiting: set | None = None) -> Merge:
    """The three-way merge; ``waiting``: key texts of rows with a pending conflict (left alone)."""
    groups = groups_of(origin.column_names, key, origin_columns, store_columns)
    ko, ks = key_text(origin, key), key_text(store, key)
    if waiting:
        w = pa.array(sorted(waiting), pa.string())
        origin, ko = _drop_keys(origin, ko, w)
        store, ks = _drop_keys(store, ks, w)
        base = base.filter(pc.invert(pc.is_in(base.column("chave"), value_set=w)))
    j = (pa.table({"chave": ko, "_io": pa.array(np.arange(len(ko)), pa.int64())})
         .join(pa.table({"chave": ks, "_is": pa.array(np.arange(len(ks)), pa.int64())}), "chave",
               join_type="full outer")
         .join(base.append_column("_ib", pa.array(np.arange(base.num_rows), pa.int64())).select(["chave", "_ib"]),
               "chave", join_type="full outer"))
    io = j.column("_io").to_numpy(zero_copy_only=False)
    is_ = j.column("_is").to_numpy(zero_copy_only=False)
    ib = j.column("_ib").to_numpy(zero_copy_only=False)
    po, ps, pb = ~np.isnan(io), ~np.isnan(is_), ~np.isnan(ib)
    io, is_, ib = (np.where(p, a, 0).astype(np.int64) for p, a in ((po, io), (ps, is_), (pb, ib)))
    keys = j.column("chave").combine_chunks()
    ho, hs = hashes(origin, groups), hashes(store, groups)
    hb = {g: base.column(f"h_{g}").to_numpy() for g in GROUPS}
    out = Merge(_empty(origin, key), _empty(origin, key), empty_base(), pa.array([], pa.string()))
    sel = lambda m: np.nonzero(m)[0]   # noqa: E731
    both = sel(po & ps)
    _merge_both(out, origin, store, key, groups, rule, keys, both, io[both], is_[both],
                pb[both], ib[both], ho, hs, hb)
    _one_side(out, origin, "origin", key, groups, rule, keys, sel(po & ~ps), io, pb, ib, ho, hb)
    _one_side(out, store, "store", key, groups, rule, keys, sel(ps & ~po), is_, pb, ib, hs, hb)
    gone = sel(~po & ~ps & pb)
    out.base_drop = pa.concat_arrays([out.base_drop, keys.take(pa.array(gone, pa.int64()))])
    return out


def _drop_keys(table: pa.Table, keys: pa.Array, drop: pa.Array):
    keep = pc.invert(pc.is_in(keys, value_set=drop))
    return table.filter(keep), keys.filter(keep)


def _empty(t: pa.Table, key: list[str]) -> Changes:
    return Changes(t.slice(0, 0), t.slice(0, 0), t.select(key).slice(0, 0))


def _take(a: np.ndarray, idx) -> np.ndarray:
    return a[np.asarray(idx, dtype=np.int64)]


def _merge_both(out: Merge, origin, store, key, groups, rule: Rule, keys, rows, io, is_, pb, ib, ho, hs, hb):
    if len(rows) == 0:
        return
    o, s = origin.take(pa.array(io)), store.take(pa.array(is_))
    eq_all = np.ones(len(rows), bool)
    pick_store, conflict = {}, np.zeros(len(rows), bool)
    for g in GROUPS:
        a, b = _take(ho[g], io), _take(hs[g], is_)
        base_g = np.where(pb, _take(hb[g], ib), 0) if len(hb[g]) else np.zeros(len(rows), np.int64)
        eq = a == b
        ch_o, ch_s = ~pb | (a != base_g), ~pb | (b != base_g)
        eq_all &= eq
        both_changed = ~eq & ch_o & ch_s
        if g == "o":
            pick_store[g] = ~eq & ~ch_o & ch_s
        elif g == "s":
            pick_store[g] = ~eq & ch_s
        else:
            conflict = both_changed
            pick_store[g] = ~eq & ~ch_o & ch_s
    decided = _decide(rule, o, s, conflict)      # True: the store's shared columns win
    manual = conflict & (decided is None) if rule.kind == "manual" else np.zeros(len(rows), bool)
    if decided is not None:
        pick_store["x"] = pick_store["x"] | (conflict & decided)
    for i in np.nonzero(conflict)[0]:
        winner = "pendente" if manual[i] else ("loja" if decided[i] else "origem")
        out.conflicts.append(_conflict(keys[int(rows[i])].as_py(), "atualização", o.slice(i, 1), s.slice(i, 1),
                                       _base_hash(hb, int(ib[i])) if pb[i] else None, rule, winner,
                                       (int(ho["x"][io[i]]), int(hs["x"][is_[i]]))))
    cols = {}
    for name in origin.column_names:
        g = next((g for g in GROUPS if name in groups[g]), None)
        cols[name] = o.column(name) if g is None else pc.if_else(pa.array(pick_store[g]), s.column(name),
                                                                  o.column(name))
    merged = pa.table(cols, schema=origin.schema)
    keep = pa.array(~manual & ~eq_all)
    merged, o_k, s_k = merged.filter(keep), o.filter(keep), s.filter(keep)
    value_cols = [c for c in origin.column_names if c not in key]
    out.to_store.updates = pa.concat_tables([out.to_store.updates, merged.filter(rows_differ(merged, s_k, value_cols))])
    out.to_origin.updates = pa.concat_tables([out.to_origin.updates,
                                              merged.filter(rows_differ(merged, o_k, value_cols))])
    new_h = hashes(merged, groups)
    stale = ~pb.copy()                         # rows in sync whose base must be (re)written
    for g in GROUPS:
        stale |= pb & (_take(ho[g], io) != (_take(hb[g], ib) if len(hb[g]) else 0))
    eq_rows = np.nonzero(~manual & eq_all & stale)[0]
    out.in_sync += int(np.count_nonzero(~manual & eq_all & ~stale))
    mk = keys.take(pa.array(rows[~manual & ~eq_all], pa.int64()))
    ek = keys.take(pa.array(rows[eq_rows], pa.int64()))
    out.base = pa.concat_tables([out.base, base_table(mk, new_h),
                                 base_table(ek, {g: _take(ho[g], io[eq_rows]) for g in GROUPS})])
    out.in_sync += len(eq_rows)


def _decide(rule: Rule, o: pa.Table, s: pa.Table, conflict: np.ndarray):
    """Per row, True where the store's shared columns win a conflict (None: manual)."""
    n = len(conflict)
    if rule.kind == "store_wins":
        return np.ones(n, bool)
    if rule.kind == "origin_wins":
        return np.zeros(n, bool)
    if rule.kind == "newest_wins":
        a, b = o.column(rule.column), s.column(rule.column)
        gt = pc.fill_null(pc.greater(b, a), False)
        gt = pc.if_else(pc.and_(pc.is_null(a), pc.is_valid(b)), True, gt)
        return np.asarray(gt.to_numpy(zero_copy_only=False), bool)
    return None


def _base_hash(hb, i: int) -> str:
    return ":".join(str(int(hb[g][i])) for g in GROUPS)


def _conflict(chave: str, kind: str, o: pa.Table | None, s: pa.Table | None, base_hash, rule: Rule,
              outcome: str, sig) -> dict:
    return {"chave": chave, "tipo": kind, "versao_origem": None if o is None else o.to_pylist()[0],
            "versao_loja": None if s is None else s.to_pylist()[0], "hash_base": base_hash, "regra": rule.label,
            "resultado": outcome, "assinatura": f"{base_hash}|{sig[0]}|{sig[1]}"}


def _one_side(out: Merge, table: pa.Table, side: str, key, groups, rule: Rule, keys, rows, idx, pb, ib, h, hb):
    """Rows present on one side only: new there (insert at the other), deleted at the other
    (delete here when unchanged since the base), or deleted against an update (the update wins)."""
    if len(rows) == 0:
        return
    other = out.to_store if side == "origin" else out.to_origin
    mine = out.to_origin if side == "origin" else out.to_store
    ix, has_base = idx[rows], pb[rows]
    changed = ~has_base.copy()
    bi = ib[rows]
    for g in GROUPS:
        changed |= has_base & (_take(h[g], ix) != (_take(hb[g], bi) if len(hb[g]) else 0))
    deleted_other = has_base & ~changed       # the other side deleted it, this side did not touch it
    conflict = has_base & changed             # deleted there, updated here
    manual = conflict & (rule.kind == "manual")
    insert = ~has_base | (conflict & ~manual)
    t = table.take(pa.array(ix))
    for i in np.nonzero(conflict)[0]:
        one = t.slice(int(i), 1)
        out.conflicts.append(_conflict(
            keys[int(rows[i])].as_py(), "exclusão", one if side == "origin" else None,
            one if side == "store" else None, _base_hash(hb, int(bi[i])), rule,
            "pendente" if manual[i] else ("origem" if side == "origin" else "loja"),
            (int(h["x"][ix[i]]), -1) if side == "origin" else (-1, int(h["x"][ix[i]]))))
    other.inserts = pa.concat_tables([other.inserts, t.filter(pa.array(insert))])
    mine.deletes = pa.concat_tables([mine.deletes, t.filter(pa.array(deleted_other)).select(key)])
    ins = np.nonzero(insert)[0]
    out.base = pa.concat_tables([out.base, base_table(keys.take(pa.array(rows[ins], pa.int64())),
                                                      {g: _take(h[g], ix[ins]) for g in GROUPS})])
    out.base_drop = pa.concat_arrays([out.base_drop, keys.take(pa.array(rows[deleted_other], pa.int64()))])
