"""Jobs the data team launches in the UI.

``forcar_atualizacao`` is a partitioned asset job (one store = one partition per run);
``enviar_dados`` / ``receber_dados`` are one run per tick for all their stores (``tick.py``).
"""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings
from sinc_pipeline.defs.partitions import stores_partitions
from sinc_pipeline.defs.sync_assets import keys_for
from sinc_pipeline.defs.tick import build_tick_jobs


def build_sync_jobs(settings: Settings) -> list:
    force = define_asset_job(
        "forcar_atualizacao", selection=AssetSelection.assets(*keys_for(settings)),
        partitions_def=stores_partitions(settings), executor_def=in_process_executor,
        description="Forçar Atualização: envia os dados da loja à origem e depois recebe os da origem, "
                    "todas as tabelas.",
        tags=job_tags(settings, "forcar_atualizacao"))
    return [force, *build_tick_jobs(settings)]
