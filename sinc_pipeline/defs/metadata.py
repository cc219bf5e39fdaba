"""Turning results into what the asset catalog shows."""
from __future__ import annotations

from dagster import MetadataValue

from sinc_pipeline.core.markdown import Markdown, markdown_table
from sinc_pipeline.sync.unit import TableResult
from sinc_pipeline.sync.verify import Agreement


def result_metadata(r: TableResult) -> dict:
    md = {
        "loja": r.store,
        "modo": r.mode,
        "linhas_comparadas": MetadataValue.int(r.compared),
        "inseridas": MetadataValue.int(r.inserted),
        "atualizadas": MetadataValue.int(r.updated),
        "excluidas": MetadataValue.int(r.deleted),
        "duracao_s": MetadataValue.float(float(r.duration_s)),
    }
    if r.cursor is not None:
        md["cursor"] = MetadataValue.text(r.cursor)
    return md


def agreement_metadata(a: Agreement) -> dict:
    md = {
        "linhas_fonte": MetadataValue.int(a.source_rows),
        "linhas_destino": MetadataValue.int(a.target_rows),
        "checksum_fonte": a.source_checksum,
        "checksum_destino": a.target_checksum,
    }
    md.update({k: MetadataValue.int(v) for k, v in a.detail.items()})
    return md


def md_table(rows, headers, **options) -> MetadataValue:
    """``core.markdown.markdown_table(rows, headers, **options)`` as Markdown metadata."""
    return MetadataValue.md(markdown_table(rows, headers, **options))


def report_metadata(report: dict) -> dict:
    """A core report (plain values) as metadata: values marked ``Markdown`` are shown as Markdown."""
    return {k: MetadataValue.md(str(v)) if isinstance(v, Markdown) else v for k, v in report.items()}
