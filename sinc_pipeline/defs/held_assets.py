"""Held rows in Dagster: the ``erros_sincronizacao`` asset and its job.

* asset ``erros_sincronizacao`` (group ``erros``, not partitioned), job ``relatorio_erros``: every
  store's rows held back by the sync (``sinc_erros``, see ``sync/held.py`` and
  ``sync/held_store.py``), one Markdown table per store: table, key, column, an excerpt of the
  value, the database's message, first and last seen, attempts. A store whose database cannot
  be read is named with the error; the others are still listed.
* the per-table side lives in the check ``origem_e_loja_conferem`` (``sync_assets.check_result``):
  it fails with severity WARN, naming the rows, while a row of its table is held.
"""

from dagster import (AssetExecutionContext, Definitions, MaterializeResult, MetadataValue, asset, define_asset_job,
                     in_process_executor)

from sinc_pipeline.core.errors import SincError
from sinc_pipeline.defs.metadata import HELD_COLUMNS, md_table
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.held_store import ERRORS_TABLE, store_entries

GROUP, ASSET, JOB = "erros", "erros_sincronizacao", "relatorio_erros"


def _asset(settings: Settings):
    @asset(name=ASSET, group_name=GROUP, kinds={"sql"},
           description=f"Linhas retidas pela sincronização, por loja (tabela `{ERRORS_TABLE}` no lado gravado: "
                       "na loja para o recebimento, na origem para o envio): tabela, chave, coluna, trecho do valor, "
                       "mensagem do banco, primeira e última vez, tentativas. Cada execução tenta de novo; a linha "
                       "sai daqui sozinha quando a causa é corrigida.")
    def erros_sincronizacao(context: AssetExecutionContext) -> MaterializeResult:
        md: dict = {}
        total, failed = 0, []
        with core_step(context):
            for store in settings.stores:
                try:
                    entries = store_entries(settings, store.id)
                except SincError as err:
                    failed.append(store.id)
                    md[store.id] = MetadataValue.md(f"Não foi possível ler os erros da loja: {err}")
                    continue
                total += len(entries)
                md[store.id] = md_table(entries, HELD_COLUMNS, limit=50, max_cell=120,
                                        empty="Nenhuma linha retida.")
        context.log.info(f"{total} linha(s) retida(s) em {len(settings.stores)} loja(s)")
        return MaterializeResult(metadata={"linhas_retidas": MetadataValue.int(total),
                                           "lojas_com_erro_de_leitura": MetadataValue.int(len(failed)), **md})

    return erros_sincronizacao


def build(settings: Settings) -> Definitions:
    report = _asset(settings)
    job = define_asset_job(JOB, selection=[report], executor_def=in_process_executor, tags=job_tags(settings, JOB),
                           description="Relatório das linhas retidas pela sincronização (erros_sincronizacao), "
                                       "de todas as lojas.")
    return Definitions(assets=[report], jobs=[job])
