"""Fiscal numbering in Dagster: the ``lacunas_numeracao`` report and the quarantine check.

* asset ``lacunas_numeracao`` (group ``fiscal``, not partitioned), job ``relatorio_fiscal`` and a
  daily schedule (stopped until turned on): gaps per CNPJ/model/series with the voiding deadline,
  and offline contingency documents still pending, from ``fiscal/report.py``;
* check ``sem_documentos_em_quarentena`` on ``enviar_<fiscal.table>``: runs with every send of the
  documents and fails listing the store's documents held in the quarantine (``fiscal/quarantine.py``).
"""

import pandas as pd
from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetExecutionContext, AssetKey,
                     DefaultScheduleStatus, Definitions, MaterializeResult, MetadataValue, ScheduleDefinition, asset,
                     asset_check, define_asset_job, in_process_executor)

from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings
from sinc_pipeline.core.db import redact
from sinc_pipeline.fiscal.quarantine import open_entries
from sinc_pipeline.fiscal.report import build_report, write_report
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.metadata import md_table
from sinc_pipeline.defs.resources import PARTITION_TAG

GROUP = "fiscal"
REPORT, JOB, SCHEDULE = "lacunas_numeracao", "relatorio_fiscal", "relatorio_fiscal_diario"
QUARANTINE_CHECK = "sem_documentos_em_quarentena"
TOP = 30


def _table(df: pd.DataFrame, columns: list[str], empty: str) -> MetadataValue:
    """The first ``TOP`` rows of ``df`` (the rest are in the Parquet file)."""
    return md_table(df[columns].to_dict("records"), columns, limit=TOP, empty=empty,
                    more="… e mais {n} linha(s) no arquivo Parquet.")


def _report_asset(settings: Settings):
    fiscal = settings.fiscal

    @asset(name=REPORT, group_name=GROUP, kinds={"parquet"},
           description=f"Lacunas de numeração dos documentos fiscais da origem (`{fiscal.table}` em "
                       f"`{redact(settings.origin.url)}`), por CNPJ, modelo e série: faixas de números faltantes, "
                       "prazo para inutilizar (dia 10 do mês seguinte) e dias restantes; e NFC-e emitidas em "
                       "contingência offline (tpEmis 9) ainda não transmitidas, com a idade, marcadas como "
                       f"atrasadas após {fiscal.contingency_limit_hours} h. Arquivo Parquet em "
                       f"`{settings.reports_root}/fiscal/lacunas_numeracao/`.")
    def lacunas_numeracao(context: AssetExecutionContext) -> MaterializeResult:
        with core_step(context):
            report = build_report(settings)
        path = write_report(settings, report)
        gaps = report.gaps.sort_values(["dias_restantes", "cnpj", "modelo", "serie", "inicio"], na_position="first")
        pending = report.pending.assign(atrasado=report.pending["atrasado"].map({True: "sim", False: "não"}))
        context.log.info(f"{len(gaps)} lacuna(s), {len(pending)} documento(s) em contingência pendente(s)")
        return MaterializeResult(metadata={
            "documentos_lidos": MetadataValue.int(report.documents),
            "lacunas": MetadataValue.int(len(gaps)),
            "numeros_faltantes": MetadataValue.int(int(gaps["quantidade"].sum()) if len(gaps) else 0),
            "lacunas_com_prazo_vencido": MetadataValue.int(report.overdue_gaps),
            "contingencia_pendente": MetadataValue.int(len(pending)),
            "contingencia_atrasada": MetadataValue.int(report.late_pending),
            "tabela_lacunas": _table(
                gaps, ["loja", "cnpj", "modelo", "serie", "inicio", "fim", "quantidade", "prazo_inutilizacao",
                       "dias_restantes"], "Nenhuma lacuna de numeração."),
            "tabela_contingencia": _table(
                pending, ["loja", "chave", "serie", "numero", "emitido_em", "idade_horas", "atrasado"],
                "Nenhum documento em contingência pendente de transmissão."),
            "gerado_em": MetadataValue.text(f"{report.generated_at:%Y-%m-%d %H:%M:%S} ({fiscal.timezone})"),
            "arquivo": MetadataValue.path(str(path)),
        })

    return lacunas_numeracao


def _quarantine_check(settings: Settings):
    fiscal = settings.fiscal
    target = AssetKey(f"enviar_{fiscal.table}")

    @asset_check(asset=target, name=QUARANTINE_CHECK,
                 description=f"Nenhum documento fiscal da loja retido na quarentena (`{fiscal.quarantine_table}` na "
                             "origem). Falha listando os documentos retidos e o motivo; corrigir os dados na loja e "
                             "enviar de novo os libera.")
    def sem_documentos_em_quarentena(context: AssetCheckExecutionContext) -> AssetCheckResult:
        with core_step(context):
            return quarantine_result(settings, context.run.tags.get(PARTITION_TAG))

    return sem_documentos_em_quarentena


def quarantine_result(settings: Settings, store_id: str | None) -> AssetCheckResult:
    """The quarantine check's result for one store (also logged per store by the tick op, defs/tick.py)."""
    fiscal = settings.fiscal
    held = open_entries(settings, store_id)
    docs = held[held["tabela"] == fiscal.table]
    listing = _table(docs.rename(columns={"chave_acesso": "chave", "grupo": "venda"}),
                     ["documento", "chave", "venda", "motivo", "retido_em", "tentativas"],
                     "Nenhum documento retido.")
    return AssetCheckResult(asset_key=AssetKey(f"enviar_{fiscal.table}"), check_name=QUARANTINE_CHECK,
                            passed=held.empty, metadata={
                                "loja": store_id or "todas",
                                "documentos_retidos": MetadataValue.int(len(docs)),
                                "linhas_retidas": MetadataValue.int(len(held)),
                                "retidos": listing,
                            })


def build(settings: Settings) -> Definitions:
    if settings.fiscal is None:
        return Definitions()
    report = _report_asset(settings)
    job = define_asset_job(JOB, selection=[report], executor_def=in_process_executor, tags=job_tags(settings, JOB),
                           description="Relatório fiscal: lacunas de numeração e contingências pendentes "
                                       "(lacunas_numeracao), sobre os documentos da origem.")
    schedule = ScheduleDefinition(name=SCHEDULE, job=job, cron_schedule="0 7 * * *",
                                  execution_timezone=settings.fiscal.timezone,
                                  default_status=DefaultScheduleStatus.STOPPED,
                                  description="Relatório fiscal diário às 7h (lacunas_numeracao). Desligado até "
                                              "ser ligado aqui.")
    sends = {t.name for t in settings.tables if t.direction == "send"}
    checks = [_quarantine_check(settings)] if settings.fiscal.table in sends else []
    return Definitions(assets=[report], jobs=[job], schedules=[schedule], asset_checks=checks)
