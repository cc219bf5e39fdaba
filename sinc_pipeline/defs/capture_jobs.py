"""The ``instalar_captura`` job: installs (or, with ``remover: true``, removes) change capture
for the tables in journal mode (``capture: journal``), where their changes are made: the origin
for receive tables, every store for send tables (``capture/install.py``)."""

from dagster import Config, Definitions, Nothing, OpExecutionContext, Out, Output, in_process_executor, job, op
from pydantic import Field

from sinc_pipeline.capture.install import install_capture
from sinc_pipeline.defs.metadata import md_table
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings


class InstalarCapturaConfig(Config):
    remover: bool = Field(False, description="Remove os gatilhos (e a tabela sinc_alteracoes onde não restar "
                                             "nenhum) em vez de instalá-los.")


def build_capture_job(settings: Settings):
    @op(name="instalar_gatilhos_de_captura", out=Out(Nothing, description="O que foi feito em cada banco."),
        description="Instala (ou remove) os gatilhos que gravam as alterações das tabelas em modo journal na "
                    "tabela sinc_alteracoes, na mesma transação da alteração.")
    def instalar_gatilhos(context: OpExecutionContext, config: InstalarCapturaConfig):
        with core_step(context):
            results = install_capture(settings, remove=config.remover)
        for r in results:
            context.log.info(f"{r.banco}: {r.tabela} — {r.acao}")
        table = md_table([{"banco": r.banco, "tabela": r.tabela, "ação": r.acao} for r in results],
                         ["banco", "tabela", "ação"])
        return Output(None, metadata={"acoes": table, "bancos": len({r.banco for r in results})})

    @job(name="instalar_captura", executor_def=in_process_executor, tags=job_tags(settings, "instalar_captura"),
         description="Instalar Captura: gatilhos que registram cada inclusão, alteração e exclusão das tabelas com "
                     "'capture: journal' (na origem para as recebidas, em cada loja para as enviadas). Idempotente; "
                     "com remover: true, remove-os.")
    def instalar_captura():
        instalar_gatilhos()

    return instalar_captura


def build(settings: Settings) -> Definitions:
    return Definitions(jobs=[build_capture_job(settings)])
