"""Alinhar Estoque in Dagster: job ``alinhar_estoque``, one store (partition) per run.

    enviar_* (the send units)  ->  divergencias_estoque  ->  ajustes_estoque  [check: nenhuma_divergencia_restante]

The send assets run first, so sales not yet at the origin are counted there before comparing.
``divergencias_estoque`` writes the Parquet report; ``ajustes_estoque`` applies it unless the
launchpad says ``simular: true`` (then it is skipped and nothing at the store changes). The logic
lives in ``stock/align.py``; this module only wires it.
"""

from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetExecutionContext, AssetKey, AssetSelection,
                     Config, Definitions, MaterializeResult, MetadataValue, asset, asset_check, define_asset_job,
                     in_process_executor)

from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings
from sinc_pipeline.core.errors import SincError
from sinc_pipeline.stock.divergence import divergence_summary, divergences_frame
from sinc_pipeline.stock.align import apply_alignment, compute_divergences, divergence_path, read_divergences, write_divergences
from sinc_pipeline.defs.failures import as_failure
from sinc_pipeline.defs.metadata import md_table
from sinc_pipeline.defs.partitions import stores_partitions
from sinc_pipeline.defs.resources import PARTITION_TAG
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.sync_assets import keys_for

GROUP = "estoque"
DIVERGENCES, ADJUSTMENTS = "divergencias_estoque", "ajustes_estoque"
CHECK = "nenhuma_divergencia_restante"
JOB = "alinhar_estoque"
TOP = 20


class AlinharEstoqueConfig(Config):
    simular: bool = False


def _run(context, fn, *args, **kwargs):
    with core_step(context):
        return fn(*args, **kwargs)


def build(settings: Settings) -> Definitions:
    if settings.stock is None:
        return Definitions()
    cfg = settings.stock
    parts = stores_partitions(settings)
    send_keys = keys_for(settings, "send")
    where = f"`{cfg.table}` na origem e `{cfg.target_name}` na loja"

    @asset(name=DIVERGENCES, group_name=GROUP, partitions_def=parts, deps=send_keys, kinds={"parquet"},
           required_resource_keys={"trava_loja"},
           description=f"Divergências de estoque entre a loja e a origem ({where}; chave {', '.join(cfg.key)}, "
                       f"quantidade `{cfg.quantity}`): quantidade na loja, na origem, diferença (origem − loja) e "
                       "produtos presentes de um lado só. Arquivo Parquet em "
                       f"`{settings.reports_root}/<loja>/divergencias_estoque/<run_id>.parquet`.")
    def divergencias_estoque(context: AssetExecutionContext) -> MaterializeResult:
        store_id = context.partition_key
        div = _run(context, compute_divergences, settings, store_id)
        path = write_divergences(settings, div, context.run_id)
        summary = divergence_summary(divergences_frame(div.table), top=TOP)
        situ = div.table.column("situacao").to_pylist()
        context.log.info(f"{store_id}: {summary['quantidade']} divergência(s), soma |diferença| "
                         f"{summary['soma_abs_diferencas']}")
        return MaterializeResult(metadata={
            "loja": store_id,
            "divergencias": MetadataValue.int(summary["quantidade"]),
            "soma_abs_diferencas": MetadataValue.text(summary["soma_abs_diferencas"]),
            "somente_loja": MetadataValue.int(situ.count("somente_loja")),
            "somente_origem": MetadataValue.int(situ.count("somente_origem")),
            "produtos_loja": MetadataValue.int(div.store_rows),
            "produtos_origem": MetadataValue.int(div.origin_rows),
            "maiores_divergencias": MetadataValue.md(summary["markdown"]),
            "arquivo": MetadataValue.path(str(path)),
            "leitura_s": MetadataValue.float(round(div.read_s, 4)),
            "comparacao_s": MetadataValue.float(round(div.compare_s, 4)),
        })

    @asset(name=ADJUSTMENTS, group_name=GROUP, partitions_def=parts, deps=[AssetKey(DIVERGENCES)], kinds={"sql"},
           required_resource_keys={"trava_loja"}, output_required=False,
           description=f"Ajustes de estoque na loja: leva as quantidades da loja às da origem e grava um registro "
                       f"por ajuste em `{cfg.adjustments_table}` (motivo 'alinhamento com origem', run id, data), "
                       "na mesma transação. Cada UPDATE só vale se a quantidade ainda é a lida: vendas feitas "
                       "durante o alinhamento nunca se perdem e ficam para a próxima execução. Com `simular: true` "
                       "não é executado e nada muda na loja.")
    def ajustes_estoque(context: AssetExecutionContext, config: AlinharEstoqueConfig):
        store_id = context.partition_key
        if config.simular:
            context.log.info(f"{store_id}: simulação — nenhuma quantidade alterada; veja divergencias_estoque.")
            return
        path = divergence_path(settings, store_id, context.run_id)
        if not path.exists():
            raise as_failure(SincError(f"Arquivo de divergências {str(path)!r} não existe para a loja {store_id}",
                                       hint="rode o job alinhar_estoque, que materializa divergencias_estoque "
                                            "antes de ajustar."))
        result = _run(context, apply_alignment, settings, store_id, read_divergences(path), run_id=context.run_id)
        if result.conflicts:
            context.log.warning(f"{store_id}: {len(result.conflicts)} produto(s) alterado(s) durante o alinhamento; "
                                "ficam para a próxima execução.")
        key = list(cfg.key)
        yield MaterializeResult(metadata={
            "loja": store_id,
            "atualizados": MetadataValue.int(result.updated),
            "incluidos": MetadataValue.int(result.inserted),
            "registros_auditoria": MetadataValue.int(result.audit_rows),
            "alterados_durante_alinhamento": MetadataValue.int(len(result.conflicts)),
            "conflitos": md_table(result.conflicts, key + ["quantidade_lida", "quantidade_atual", "quantidade_origem"],
                                  limit=TOP, empty="Nenhuma."),
            "adiados_quarentena_fiscal": MetadataValue.int(len(result.deferred)),
            "tabela_auditoria": cfg.adjustments_table,
            "duracao_s": MetadataValue.float(round(result.duration_s, 4)),
        })

    @asset_check(asset=ajustes_estoque, name=CHECK,
                 description="Depois dos ajustes, nenhuma divergência resta entre o estoque da loja e o da origem. "
                             "Falha listando as que restam (vendas feitas durante o alinhamento, produtos de "
                             "vendas retidas na quarentena fiscal).")
    def nenhuma_divergencia_restante(context: AssetCheckExecutionContext) -> AssetCheckResult:
        store_id = context.run.tags.get(PARTITION_TAG)
        div = _run(context, compute_divergences, settings, store_id)
        summary = divergence_summary(divergences_frame(div.table), top=TOP)
        return AssetCheckResult(passed=summary["quantidade"] == 0, metadata={
            "loja": store_id,
            "divergencias_restantes": MetadataValue.int(summary["quantidade"]),
            "soma_abs_diferencas": MetadataValue.text(summary["soma_abs_diferencas"]),
            "restantes": MetadataValue.md(summary["markdown"]),
        })

    job = define_asset_job(
        JOB, selection=AssetSelection.assets(*send_keys, DIVERGENCES, ADJUSTMENTS), executor_def=in_process_executor,
        tags=job_tags(settings, JOB),
        description="Alinhar Estoque: envia os dados pendentes da loja, compara o estoque da loja com o da origem "
                    "(divergencias_estoque) e ajusta a loja com registro de auditoria (ajustes_estoque). Opção do "
                    "launchpad: simular: true para só ver as divergências, sem alterar nada.")
    return Definitions(assets=[divergencias_estoque, ajustes_estoque], jobs=[job],
                       asset_checks=[nenhuma_divergencia_restante])
