"""Turning results into what the asset catalog shows."""
from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetKey, Definitions, MetadataValue

from sinc_pipeline.core.markdown import Markdown, markdown_table
from sinc_pipeline.sync.unit import TableResult
from sinc_pipeline.sync.verify import Agreement


# A sync asset is recognised by its tag (set by ``sync_assets.build_unit_asset``), not by its metadata keys.
KIND_TAG, SYNC_KIND = "sinc/tipo", "sincronizacao"
TABLE_TAG = "sinc/tabela"


@dataclass(frozen=True)
class SyncCounts:
    """What one sync asset's materialization reports, typed; ``metadata()`` is what the catalog shows
    and ``from_metadata`` reads it back (e.g. from a run's events)."""
    store: str
    table: str
    mode: str
    compared: int
    inserted: int
    updated: int
    deleted: int
    duration_s: float
    cursor: str | None = None
    held: int = 0

    @classmethod
    def from_result(cls, r: TableResult) -> SyncCounts:
        return cls(r.store, r.table, r.mode, r.compared, r.inserted, r.updated, r.deleted, float(r.duration_s),
                   r.cursor, r.held)

    def metadata(self) -> dict:
        md = {
            "loja": self.store,
            "modo": self.mode,
            "linhas_comparadas": MetadataValue.int(self.compared),
            "inseridas": MetadataValue.int(self.inserted),
            "atualizadas": MetadataValue.int(self.updated),
            "excluidas": MetadataValue.int(self.deleted),
            "duracao_s": MetadataValue.float(self.duration_s),
            "retidas": MetadataValue.int(self.held),
        }
        if self.cursor is not None:
            md["cursor"] = MetadataValue.text(self.cursor)
        return md

    @classmethod
    def from_metadata(cls, table: str, md: dict) -> SyncCounts:
        """From the metadata of a materialization (plain values, as ``metadata()`` wrote them)."""
        return cls(md["loja"], table, md["modo"], int(md["linhas_comparadas"]), int(md["inseridas"]),
                   int(md["atualizadas"]), int(md["excluidas"]), float(md["duracao_s"]), md.get("cursor"),
                   int(md.get("retidas", 0)))

    def as_dict(self) -> dict:
        """The counts under the catalog's pt-BR names (the CLI's ``--json``)."""
        return {"tabela": self.table, "loja": self.store, "modo": self.mode, "linhas_comparadas": self.compared,
                "inseridas": self.inserted, "atualizadas": self.updated, "excluidas": self.deleted,
                "duracao_s": self.duration_s, "cursor": self.cursor, "retidas": self.held}


def result_metadata(r: TableResult) -> dict:
    return SyncCounts.from_result(r).metadata()


def sync_counts(defs: Definitions, key: AssetKey, md: dict) -> SyncCounts | None:
    """The counts of a materialization of ``key`` when ``defs`` tag it as a sync asset, else None."""
    tags = defs.resolve_asset_graph().get(key).tags
    if tags.get(KIND_TAG) != SYNC_KIND:
        return None
    return SyncCounts.from_metadata(tags[TABLE_TAG], md)


def agreement_metadata(a: Agreement) -> dict:
    md = {
        "linhas_fonte": MetadataValue.int(a.source_rows),
        "linhas_destino": MetadataValue.int(a.target_rows),
        "checksum_fonte": a.source_checksum,
        "checksum_destino": a.target_checksum,
    }
    md.update({k: MetadataValue.int(v) for k, v in a.detail.items()})
    if getattr(a, "mode", None):
        md["conferencia"] = a.mode
    if getattr(a, "marked", False):
        md["reparo_na_proxima_execucao"] = True
    return md


HELD_COLUMNS = ["loja", "tabela", "chave", "coluna", "valor", "mensagem", "primeiro_em", "ultimo_em", "tentativas"]


def held_metadata(entries: list[dict]) -> dict:
    """The held rows of one table (entries of ``sinc_erros``) for a check's metadata."""
    return {"linhas_retidas": MetadataValue.int(len(entries)),
            "retidas": md_table(entries, HELD_COLUMNS[1:], limit=30, max_cell=120)}


def md_table(rows, headers, **options) -> MetadataValue:
    """``core.markdown.markdown_table(rows, headers, **options)`` as Markdown metadata."""
    return MetadataValue.md(markdown_table(rows, headers, **options))


def report_metadata(report: dict) -> dict:
    """A core report (plain values) as metadata: values marked ``Markdown`` are shown as Markdown."""
    return {k: MetadataValue.md(str(v)) if isinstance(v, Markdown) else v for k, v in report.items()}
