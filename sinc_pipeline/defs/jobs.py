"""Jobs the data team launches in the UI (one store = one partition per run)."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings
from sinc_pipeline.defs.partitions import stores_partitions
from sinc_pipeline.defs.sync_assets import keys_for

def build_sync_jobs(settings: Settings) -> list:
    parts = stores_partitions(settings)

    def job(name: str, keys, description: str):
        return define_asset_job(name, selection=AssetSelection.assets(*keys), partitions_def=parts,
                                executor_def=in_process_executor, description=description,
                                tags=job_tags(settings, name))

    return [
        job("forcar_atualizacao", keys_for(settings),
            "Forçar Atualização: envia os dados da loja à origem e depois recebe os da origem, todas as tabelas."),
        job("enviar_dados", keys_for(settings, "send"),
            "Enviar: leva à origem os dados locais da loja (vendas, itens, documentos fiscais…)."),
        job("receber_dados", keys_for(settings, "receive"),
            "Receber: traz da origem os dados da loja (produtos, preços, clientes…)."),
    ]
