"""Pure change detection: compare two Arrow tables by key.

``diff_tables(source, target, key)`` returns the rows to insert, the rows to update (source
values) and the keys to delete, so that target becomes equal to source. Both tables must have
the same schema (the canonical types of ``core/types.py``). NULL equals NULL; anything else compares by value
(decimal128 compares exactly).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from sinc_pipeline.core.errors import DataError
from sinc_pipeline.core.match import match_int_keys

_SI, _TI = "__sinc_src_i", "__sinc_tgt_i"


@dataclass
class Changes:
    inserts: pa.Table
    updates: pa.Table
    deletes: pa.Table   # key columns only
    notes: dict = field(default_factory=dict)   # counts the run reports beside them (e.g. cursor_no_futuro)

    @property
    def empty(self) -> bool:
        return not (self.inserts.num_rows or self.updates.num_rows or self.deletes.num_rows)


def duplicate_keys(table: pa.Table, key: list[str], limit: int = 5) -> list[dict]:
    if table.num_rows == 0:
        return []
    counts = table.select(key).group_by(key).aggregate([([], "count_all")])
    dups = counts.filter(pc.greater(counts["count_all"], 1))
    return dups.select(key).slice(0, limit).to_pylist()


def check_key(table: pa.Table, key: list[str], where: str, *, nulls_allowed: bool = False,
              error: type[Exception] = DataError) -> None:
    """The one key check (sync, snapshots, stock): ``key`` names columns of ``table``, holds no
    NULL (unless ``nulls_allowed``) and identifies one row; else ``error`` naming ``where``."""
    missing = [k for k in key if k not in table.column_names]
    if not key or missing:
        raise error(f"Chave {key} inválida para {where}: colunas ausentes {missing or key}. "
                    f"Dica: colunas disponíveis: {table.column_names}.")
    nulls = [] if nulls_allowed else [k for k in key if table.column(k).null_count]
    if nulls:
        raise error(f"Chave nula em {where}: coluna(s) {nulls} com valores nulos. Dica: a chave deve estar "
                    "sempre preenchida.")
    dups = duplicate_keys(table, key)
    if dups:
        raise error(f"Chave duplicada em {where}: {dups}. Dica: a chave {key} deve identificar uma linha só; "
                    "corrija os dados ou a chave configurada.")


def rows_differ(a: pa.Table, b: pa.Table, columns: list[str]) -> pa.Array:
    """Boolean mask: row i of ``a`` differs from row i of ``b`` in any of ``columns``."""
    mask = pa.array([False] * a.num_rows, type=pa.bool_())
    for c in columns:
        x, y = a.column(c), b.column(c)
        both_null = pc.and_(pc.is_null(x), pc.is_null(y))
        neq = pc.fill_null(pc.not_equal(x, y), True)
        mask = pc.or_(mask, pc.and_(neq, pc.invert(both_null)))
    return mask


def _sorted(idx: pa.ChunkedArray | pa.Array) -> pa.Array:
    idx = idx.combine_chunks() if isinstance(idx, pa.ChunkedArray) else idx
    return pc.take(idx, pc.sort_indices(idx))


def diff_tables(source: pa.Table, target: pa.Table, key: list[str]) -> Changes:
    value_cols = [c for c in source.column_names if c not in key]
    matched = match_int_keys(source, target, key)
    if matched is not None:       # one integer key: matched by numpy (core/match.py)
        s_hit, t_hit, s_miss, t_extra = (pa.array(a, pa.int64()) for a in matched)
        s_both, t_both = source.take(s_hit), target.take(t_hit)
        return Changes(inserts=source.take(s_miss), updates=s_both.filter(rows_differ(s_both, t_both, value_cols)),
                       deletes=target.select(key).take(t_extra))
    src = source.append_column(_SI, pa.array(range(source.num_rows), type=pa.int64()))
    tgt = target.append_column(_TI, pa.array(range(target.num_rows), type=pa.int64()))
    joined = src.select(key + [_SI]).join(tgt.select(key + [_TI]), keys=key, join_type="full outer")
    si, ti = joined[_SI], joined[_TI]
    ins_idx = pc.filter(si, pc.is_null(ti))
    del_idx = pc.filter(ti, pc.is_null(si))
    both = joined.filter(pc.and_(pc.is_valid(si), pc.is_valid(ti)))
    both = both.sort_by(_SI)
    s_both = source.take(both[_SI])
    t_both = target.take(both[_TI])
    mask = rows_differ(s_both, t_both, value_cols)
    return Changes(
        inserts=source.take(_sorted(ins_idx)),
        updates=s_both.filter(mask),
        deletes=target.select(key).take(_sorted(del_idx)),
    )
