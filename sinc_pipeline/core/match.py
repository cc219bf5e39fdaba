"""Matching two tables' rows by key, with numpy, for the common case of one integer key.

Pure (no database, no Dagster): used by the diff (``sync/diff.py``) and the full comparison
(``reconcile/compare.py``), which fall back to Arrow's hash join for every other key.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa


def _int_key(t: pa.Table, key: list[str]) -> np.ndarray | None:
    if len(key) != 1:
        return None
    col = t.column(key[0])
    if not pa.types.is_integer(col.type) or col.type == pa.uint64() or col.null_count:
        return None
    return np.asarray(col.to_numpy(), dtype=np.int64) if t.num_rows else np.zeros(0, np.int64)


def match_int_keys(source: pa.Table, target: pa.Table, key: list[str]):
    """One integer key without NULLs on both sides (most tables): the rows matched by numpy
    over the key values (the target's sorted once; reads by key range mostly come sorted)
    instead of a hash join. (source rows matched, ascending; their target rows; source rows
    unmatched; target rows unmatched, ascending) as index arrays; None for any other key, or a
    key value repeated on a side (then the caller's join gives every pair)."""
    sk, tk = _int_key(source, key), _int_key(target, key)
    if sk is None or tk is None:
        return None
    t_order = np.arange(len(tk)) if _ascending(tk) else np.argsort(tk, kind="stable")
    tk_sorted = tk[t_order]
    if not _ascending(tk_sorted) or not _unique(sk):
        return None      # a key repeated on a side: the join's semantics (every pair)
    pos = np.searchsorted(tk_sorted, sk)
    inside = pos < len(tk_sorted)
    hit = np.zeros(len(sk), dtype=bool)
    hit[inside] = tk_sorted[pos[inside]] == sk[inside]
    s_hit = np.flatnonzero(hit)
    t_hit = t_order[pos[s_hit]]
    t_seen = np.zeros(len(tk), dtype=bool)
    t_seen[t_hit] = True
    return s_hit, t_hit, np.flatnonzero(~hit), np.flatnonzero(~t_seen)


def _ascending(a: np.ndarray) -> bool:
    """Strictly: no value repeated."""
    return len(a) < 2 or bool((a[1:] > a[:-1]).all())


def _unique(a: np.ndarray) -> bool:
    return _ascending(a) or _ascending(np.sort(a))
