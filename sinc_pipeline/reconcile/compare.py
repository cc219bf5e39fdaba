"""Pure comparison of two pieces of a table by key, through the vectorised row hash.

``compare(source, target, key)`` joins only the keys and one 64-bit hash per row
(``io/checksum.row_hashes``: no Python object per value), so a whole table is compared at the
cost of hashing it once: rows missing at the target, rows only at the target, and rows whose
values differ. ``Divergence`` accumulates the pieces of one table.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sinc_pipeline.core.match import match_int_keys
from sinc_pipeline.io.checksum import row_hashes

_H, _SI, _TI = "__sinc_h", "__sinc_si", "__sinc_ti"
MISSING, EXTRA, DIFFERENT = "ausente_no_destino", "somente_no_destino", "diferente"
KINDS = (MISSING, EXTRA, DIFFERENT)


@dataclass
class Divergence:
    """What differs in (a piece of) a table: source rows absent at the target, target keys
    absent at the source, and source rows whose values differ at the target."""
    key: list[str]
    missing: list[pa.Table] = field(default_factory=list)
    extra: list[pa.Table] = field(default_factory=list)
    different: list[pa.Table] = field(default_factory=list)
    compared: int = 0

    def add(self, other: Divergence) -> Divergence:
        self.missing += other.missing
        self.extra += other.extra
        self.different += other.different
        self.compared += other.compared
        return self

    @property
    def counts(self) -> dict[str, int]:
        return {MISSING: _rows(self.missing), EXTRA: _rows(self.extra), DIFFERENT: _rows(self.different)}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def keys(self, include_extra: bool = True) -> pa.Table | None:
        """Every differing key (one table of the key columns), or None when nothing differs."""
        parts = [t.select(self.key) for t in self.missing + self.different + (self.extra if include_extra else [])]
        parts = [p for p in parts if p.num_rows]
        return pa.concat_tables(parts) if parts else None

    def keys_by_kind(self) -> pa.Table:
        """(tipo, chave) of every difference, ``chave`` the key as JSON text, for reports."""
        kinds, keys = [], []
        for kind, parts in ((MISSING, self.missing), (EXTRA, self.extra), (DIFFERENT, self.different)):
            for p in parts:
                if p.num_rows:
                    keys.append(key_texts(p.select(self.key)))
                    kinds.append(pa.array([kind] * p.num_rows, pa.string()))
        if not keys:
            return pa.table({"tipo": pa.array([], pa.string()), "chave": pa.array([], pa.string())})
        return pa.table({"tipo": pa.concat_arrays(kinds), "chave": pa.concat_arrays(keys)})


def _rows(parts: list[pa.Table]) -> int:
    return sum(p.num_rows for p in parts)


def key_texts(keys: pa.Table) -> pa.Array:
    """Each key as a JSON object text (``{"id": 7}``), built by Arrow string functions."""
    pieces = []
    for i, name in enumerate(keys.column_names):
        col = keys.column(name)
        quoted = pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or not (
            pa.types.is_integer(col.type) or pa.types.is_decimal(col.type) or pa.types.is_floating(col.type))
        text = pc.cast(col, pa.string())
        if quoted:
            text = pc.binary_join_element_wise('"', pc.replace_substring(pc.replace_substring(
                text, "\\", "\\\\"), '"', '\\"'), '"', "")
        text = pc.fill_null(text, "null")
        prefix = ("{" if i == 0 else ", ") + json.dumps(name) + ": "
        pieces.append(pc.binary_join_element_wise(prefix, text, ""))
    if not pieces:
        return pa.array([], pa.string())
    joined = pieces[0] if len(pieces) == 1 else pc.binary_join_element_wise(*pieces, "")
    out = pc.binary_join_element_wise(joined, "}", "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def compare(source: pa.Table, target: pa.Table, key: list[str], *, propagate: bool = True,
            hashes: tuple | None = None) -> Divergence:
    """One piece of both sides (same schema) compared by key; ``propagate`` False: rows only at
    the target are not a divergence (``deletes: ignore``). ``hashes``: both sides' row hashes,
    when the caller has them already."""
    hs, ht = hashes or (row_hashes(source), row_hashes(target))
    matched = match_int_keys(source, target, key)
    if matched is not None:
        return _divergence(source, target, key, propagate, hs, ht, *matched)
    s = source.select(key).append_column(_H, pa.array(hs, pa.uint64())) \
        .append_column(_SI, pa.array(range(source.num_rows), pa.int64()))
    t = target.select(key).append_column(_H + "t", pa.array(ht, pa.uint64())) \
        .append_column(_TI, pa.array(range(target.num_rows), pa.int64()))
    j = s.join(t, keys=key, join_type="full outer")
    si, ti = j[_SI], j[_TI]
    missing = pc.filter(si, pc.is_null(ti))
    extra = pc.filter(ti, pc.is_null(si))
    both = pc.and_(pc.is_valid(si), pc.is_valid(ti))
    differ = pc.filter(si, pc.and_(both, pc.not_equal(j[_H], j[_H + "t"])))
    out = Divergence(list(key), compared=max(source.num_rows, target.num_rows))
    if len(missing):
        out.missing.append(source.take(_sorted(missing)))
    if len(differ):
        out.different.append(source.take(_sorted(differ)))
    if propagate and len(extra):
        out.extra.append(target.select(key).take(_sorted(extra)))
    return out


def _divergence(source, target, key, propagate, hs, ht, s_hit, t_hit, s_miss, t_extra) -> Divergence:
    out = Divergence(list(key), compared=max(source.num_rows, target.num_rows))
    differ = s_hit[np.asarray(hs)[s_hit] != np.asarray(ht)[t_hit]]
    if len(s_miss):
        out.missing.append(source.take(pa.array(s_miss)))
    if len(differ):
        out.different.append(source.take(pa.array(np.sort(differ))))
    if propagate and len(t_extra):
        out.extra.append(target.select(key).take(pa.array(t_extra)))
    return out


def _sorted(idx) -> pa.Array:
    idx = idx.combine_chunks() if isinstance(idx, pa.ChunkedArray) else idx
    return pc.take(idx, pc.sort_indices(idx))
