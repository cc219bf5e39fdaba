"""The preview (``simular: true``) of the sync jobs in Dagster: the launchpad config and what a
simulated table shows (counts, a Markdown sample, the whole set as Parquet).

``SimularConfig`` is the config of a sync multi-asset (``forcar_atualizacao``, ``enviar_dados``,
``receber_dados``: ``ops: {sincronizar_envio: {config: {simular: true}}}``). ``preview_metadata``
turns a simulated ``TableResult`` into the materialization's metadata and writes the Parquet
file under ``reports_root/previa/<run>/``. The core does the dry run (``sync_unit`` /
``sync_twoway`` with ``simulate=True``): nothing is written on either side.
"""

import pathlib

import pyarrow.parquet as pq
from dagster import AssetCheckResult, Config, MetadataValue
from pydantic import Field

from sinc_pipeline.core.markdown import markdown_table
from sinc_pipeline.settings import Settings
from sinc_pipeline.twoway.preview import preview_counts, preview_rows

SAMPLE = 20


class SimularConfig(Config):
    simular: bool = Field(False, description="Prévia: calcula tudo e não grava nada em lado nenhum (nem dados, nem "
                                             "cursor, nem journal, nem quarentena, nem conflitos).")


def preview_metadata(settings: Settings, run_id: str, r) -> dict:
    rows = preview_rows(r)
    folder = pathlib.Path(settings.reports_root) / "previa" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{r.table}_{r.store}.parquet"
    pq.write_table(rows, path)
    head = rows.slice(0, SAMPLE).to_pylist()
    headers = rows.column_names[:8]
    md = {f"a_{k}": MetadataValue.int(v) for k, v in preview_counts(r).items()}
    md.update({"simulado": True, "loja": r.store,
               "amostra": MetadataValue.md(markdown_table(head, headers) if head else "Nada a gravar."),
               "arquivo_parquet": MetadataValue.path(str(path))})
    return md


def preview_check(key, name: str) -> AssetCheckResult:
    """A simulated run's check: nothing was written, so nothing is compared."""
    return AssetCheckResult(asset_key=key, check_name=name, passed=True, metadata={"simulado": True},
                            description="Prévia (simular): nada foi gravado; a conferência não foi executada.")
