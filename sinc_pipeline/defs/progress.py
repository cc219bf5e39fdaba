"""The progress callback the long jobs pass to the core (``core/progress.py``): one pt-BR line in
the run's event log per table and chunk, e.g. ``Progresso loja_01: produtos — 50.000 de 120.000
linhas (41%)``. Reusable by any job that copies or compares table by table (``conferir_lojas``)."""
from __future__ import annotations

from sinc_pipeline.core.progress import Progress


def _n(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def progress_line(who: str, table: str, done: int, total: int) -> str:
    if total:
        return f"Progresso {who}: {table} — {_n(done)} de {_n(total)} linhas ({done * 100 // total}%)"
    return f"Progresso {who}: {table} — {_n(done)} linhas (total não conhecido antes)"


def log_progress(context, who: str) -> Progress:
    """A ``progress(table, done, total)`` writing to ``context.log`` (op or asset context)."""
    def progress(table: str, done: int, total: int) -> None:
        context.log.info(progress_line(who, table, done, total))
    return progress
