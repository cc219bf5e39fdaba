"""The preview (``simular``) of a sync as rows: what each table would write, on which side.

``preview_rows(result)`` takes a ``TableResult`` of a simulated run (``sync_unit`` or
``sync_twoway`` with ``simulate=True``) and returns one Arrow table: ``lado`` (the side
written: ``origem`` / ``loja``), ``operacao`` (``inserir`` / ``atualizar`` / ``excluir``) and
the row's columns (only the key for a delete). Pure: the Dagster wiring is ``defs/preview.py``.
"""
from __future__ import annotations

import pyarrow as pa

from sinc_pipeline.sync.diff import Changes

COUNTS = ("inserir", "atualizar", "excluir")


def _of(ch: Changes, side: str) -> list[pa.Table]:
    parts = []
    for op, t in zip(COUNTS, (ch.inserts, ch.updates, ch.deletes)):
        if t.num_rows:
            n = t.num_rows
            parts.append(t.add_column(0, "operacao", pa.array([op] * n)).add_column(0, "lado", pa.array([side] * n)))
    return parts


def preview_rows(result) -> pa.Table:
    p = result.preview
    if p is None:
        parts = []
    elif isinstance(p, Changes):
        parts = _of(p, "loja" if result.direction == "receive" else "origem")
    else:                                   # twoway.sync.TwoWayPlan
        parts = _of(p.merge.to_store, "loja") + _of(p.merge.to_origin, "origem")
    if not parts:
        return pa.table({"lado": pa.array([], pa.string()), "operacao": pa.array([], pa.string())})
    return pa.concat_tables(parts, promote_options="default")


def preview_counts(result) -> dict[str, int]:
    """Per table: rows that would be inserted, updated, deleted, held and in conflict."""
    return {"inserir": result.inserted, "atualizar": result.updated, "excluir": result.deleted,
            "reter": result.held, "conflitos": int(result.extra.get("conflitos", 0))}
