"""Conferir Lojas for one store, without Dagster: compare every synced table in full, report,
and (unless simulating) repair through the normal sync.

The comparison is ``sync/verify.py``'s full one: both sides read at once, one key range at a
time (bounded memory), rows compared by the vectorised row hash (``reconcile/compare.py``). The
repair marks each divergent table (``sync/state.py`` ``mark_repair``) and runs the sync units of
its direction for the store: the marked tables are compared in full and applied by the normal
apply (one transaction per unit, held rows, the fiscal gate, ``sinc_erros``), and the mark is
deleted with the data. The divergent tables are then compared again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.errors import SincError
from sinc_pipeline.core.progress import Progress
from sinc_pipeline.reconcile.compare import KINDS
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.direction import sync_direction
from sinc_pipeline.sync.state import ensure_state_table, mark_repair
from sinc_pipeline.sync.unit import roles
from sinc_pipeline.sync.verify import Agreement, verify_table

REPORT = "divergencias_sincronizacao"
SAMPLE = 10


@dataclass
class TableReconcile:
    table: str
    direction: str
    rows_source: int
    rows_target: int
    counts: dict                      # tipo -> rows, before any repair
    keys: pa.Table                    # (tipo, chave JSON) of every difference
    held: int = 0                     # rows of the table held in sinc_erros (explain differences)
    repaired: dict = field(default_factory=dict)    # inserted / updated / deleted by the repair
    remaining: int | None = None      # differences left after the repair (None: not repaired)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ReconcileReport:
    store: str
    simulate: bool
    tables: list[TableReconcile]
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def divergent(self) -> list[TableReconcile]:
        return [t for t in self.tables if t.total]

    @property
    def remaining(self) -> int:
        return sum((t.total if t.remaining is None else t.remaining) for t in self.tables)


def _entry(a: Agreement, direction: str) -> TableReconcile:
    div = a.divergence
    return TableReconcile(a.table, direction, a.source_rows, a.target_rows, div.counts, div.keys_by_kind(),
                          len(a.held))


def reconcile_store(settings: Settings, store_id: str, *, simulate: bool = False,
                    run_id: str | None = None, progress: Progress | None = None) -> ReconcileReport:
    """``progress(table, rows_done, rows_total)`` after each key range compared."""
    t0 = time.perf_counter()
    store = settings.store(store_id)
    report = ReconcileReport(store.id, simulate, [])
    for t in settings.tables:
        report.tables.append(_entry(verify_table(settings, store.id, t, progress=progress), t.direction))
    if not simulate and report.divergent:
        _repair(settings, store.id, report, run_id)
    report.duration_s = time.perf_counter() - t0
    return report


def _repair(settings: Settings, store_id: str, report: ReconcileReport, run_id: str | None) -> None:
    store = settings.store(store_id)
    by_dir: dict[str, list[TableReconcile]] = {}
    for t in report.divergent:
        by_dir.setdefault(t.direction, []).append(t)
    for direction in ("send", "receive"):   # the order forcar_atualizacao runs them in
        tables = by_dir.get(direction)
        if not tables:
            continue
        _, (tgt_url, tgt_role) = roles(store, settings, direction)
        with connect(tgt_url, tgt_role, write=True) as conn:
            ensure_state_table(conn)
            for t in tables:
                mark_repair(conn, store_id, t.table, direction, "conferir_lojas")
        results, errors = sync_direction(settings, store_id, direction, run_id=run_id, keep_going=True)
        report.errors += [str(e) for e in errors]
        done = {r.table: r for r in results}
        for t in tables:
            r = done.get(t.table)
            if r is not None:
                t.repaired = {"inseridas": r.inserted, "atualizadas": r.updated, "excluidas": r.deleted,
                              "retidas": r.held}
            after = verify_table(settings, store_id, settings.table(t.table))
            t.remaining = after.divergence.total


def report_path(settings: Settings, store_id: str, run_id: str) -> Path:
    return Path(settings.reports_root) / store_id / REPORT / f"{run_id}.parquet"


def report_table(report: ReconcileReport) -> pa.Table:
    """Every difference found: tabela, direcao, tipo, chave (JSON)."""
    parts = []
    for t in report.tables:
        k = t.keys
        if k.num_rows:
            parts.append(pa.table({"tabela": pa.array([t.table] * k.num_rows, pa.string()),
                                   "direcao": pa.array([t.direction] * k.num_rows, pa.string()),
                                   "tipo": k.column("tipo"), "chave": k.column("chave")}))
    if not parts:
        return pa.table({c: pa.array([], pa.string()) for c in ("tabela", "direcao", "tipo", "chave")})
    return pa.concat_tables(parts)


def write_report(settings: Settings, report: ReconcileReport, run_id: str) -> Path:
    """The whole set as Parquet, written whole or not at all."""
    path = report_path(settings, report.store, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(report_table(report), tmp)
    tmp.replace(path)
    return path


def summary_rows(report: ReconcileReport) -> list[dict]:
    """One row per table for the Markdown summary (counts, a sample of keys, what was repaired)."""
    out = []
    for t in report.tables:
        sample = t.keys.slice(0, SAMPLE).to_pylist()
        row = {"tabela": t.table, "direcao": t.direction, "linhas_fonte": t.rows_source,
               "linhas_destino": t.rows_target, **{k: t.counts.get(k, 0) for k in KINDS},
               "retidas": t.held, "amostra": "; ".join(f"{s['tipo']} {s['chave']}" for s in sample)}
        if t.remaining is not None:
            row["reparadas"] = ", ".join(f"{k} {v}" for k, v in t.repaired.items() if v) or "—"
            row["restantes"] = t.remaining
        out.append(row)
    return out


class ReconcileFailed(SincError):
    """Differences remain after a repair."""
