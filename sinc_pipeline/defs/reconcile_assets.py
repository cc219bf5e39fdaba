"""Conferir Lojas in Dagster: job ``conferir_lojas`` (one store per run, launchpad ``simular``),
asset ``divergencias_sincronizacao`` with its check ``sem_divergencias_restantes``, and the daily
schedule ``conferir_lojas_diario`` (``reconcile: {hour, minute, timezone}``, on by default).

The logic lives in ``reconcile/run.py``; this module only wires it.
"""

import datetime as dt

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetSelection,
                     Config, DagsterRunStatus, DefaultScheduleStatus, Definitions, MaterializeResult, MetadataValue,
                     RunRequest, RunsFilter, ScheduleEvaluationContext, SkipReason, asset, define_asset_job,
                     in_process_executor, schedule)

from sinc_pipeline.defs.metadata import md_table
from sinc_pipeline.defs.partitions import stores_partitions
from sinc_pipeline.defs.progress import log_progress
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.reconcile.compare import DIFFERENT, EXTRA, MISSING
from sinc_pipeline.reconcile.run import REPORT, reconcile_store, summary_rows, write_report
from sinc_pipeline.settings import Settings

JOB, SCHEDULE, CHECK = "conferir_lojas", "conferir_lojas_diario", "sem_divergencias_restantes"
GROUP = "conferencia"
IN_PROGRESS = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
               DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
COLUMNS = ["tabela", "direcao", "linhas_fonte", "linhas_destino", MISSING, EXTRA, DIFFERENT, "retidas",
           "reparadas", "restantes", "amostra"]


class ConferirLojasConfig(Config):
    simular: bool = False


def build(settings: Settings) -> Definitions:
    parts = stores_partitions(settings)

    @asset(name=REPORT, group_name=GROUP, partitions_def=parts, kinds={"parquet"},
           required_resource_keys={"trava_loja"},
           check_specs=[AssetCheckSpec(CHECK, asset=REPORT,
                                       description="Depois do reparo, origem e loja conferem em todas as tabelas "
                                                   "sincronizadas (comparação completa de novo). Com simular: true, "
                                                   "falha com severidade WARN enquanto houver divergências.")],
           description="Conferir Lojas: compara por completo cada tabela sincronizada da loja com a origem (por "
                       "faixas de chave, os dois lados lidos ao mesmo tempo): linhas ausentes no destino, só no "
                       "destino e diferentes, com amostra; sem `simular: true`, repara pela sincronização normal "
                       "(mesma transação, linhas retidas, verificação fiscal, sinc_erros). Parquet com todas as "
                       f"divergências em `{settings.reports_root}/<loja>/{REPORT}/<run_id>.parquet`.")
    def divergencias_sincronizacao(context: AssetExecutionContext, config: ConferirLojasConfig):
        store_id = context.partition_key
        with core_step(context):
            report = reconcile_store(settings, store_id, simulate=config.simular, run_id=context.run_id,
                                     progress=log_progress(context, store_id))
        path = write_report(settings, report, context.run_id)
        found = sum(t.total for t in report.tables)
        context.log.info(f"{store_id}: {found} divergência(s) em {len(report.divergent)} tabela(s)"
                         + ("" if config.simular else f"; restam {report.remaining} depois do reparo"))
        for err in report.errors:
            context.log.error(f"{store_id}: reparo: {err}")
        totals = {k: sum(t.counts.get(k, 0) for t in report.tables) for k in (MISSING, EXTRA, DIFFERENT)}
        yield MaterializeResult(metadata={
            "loja": store_id,
            "simulacao": config.simular,
            "divergencias": MetadataValue.int(found),
            **{k: MetadataValue.int(v) for k, v in totals.items()},
            "tabelas_divergentes": MetadataValue.int(len(report.divergent)),
            "por_tabela": md_table(summary_rows(report), COLUMNS, max_cell=200),
            "arquivo": MetadataValue.path(str(path)),
            "duracao_s": MetadataValue.float(round(report.duration_s, 4)),
        })
        remaining = report.remaining
        yield AssetCheckResult(
            check_name=CHECK, passed=remaining == 0 and not report.errors,
            severity=AssetCheckSeverity.WARN if config.simular else AssetCheckSeverity.ERROR,
            metadata={"loja": store_id, "divergencias_restantes": MetadataValue.int(remaining),
                      "erros_no_reparo": MetadataValue.int(len(report.errors))},
            description=None if remaining == 0 else (
                f"{remaining} divergência(s) " + ("encontradas (simulação: nada reparado)." if config.simular
                                                  else "restam depois do reparo (linhas retidas, ou alteradas "
                                                       "durante a conferência): veja por_tabela.")))

    job = define_asset_job(
        JOB, selection=AssetSelection.assets(REPORT), executor_def=in_process_executor, partitions_def=parts,
        tags=job_tags(settings, JOB),
        description="Conferir Lojas: compara por completo todas as tabelas sincronizadas da loja com a origem e "
                    "repara as divergências pela sincronização normal. Opção do launchpad: simular: true para "
                    "só ver as divergências (divergencias_sincronizacao), sem alterar nada.")
    return Definitions(assets=[divergencias_sincronizacao], jobs=[job], schedules=[daily_schedule(settings)])


def cron_of(settings: Settings) -> str:
    return f"{settings.reconcile.minute} {settings.reconcile.hour} * * *"


def daily_schedule(settings: Settings):
    rc = settings.reconcile

    @schedule(name=SCHEDULE, job_name=JOB, cron_schedule=cron_of(settings), execution_timezone=rc.timezone,
              default_status=DefaultScheduleStatus.RUNNING,
              description=f"Conferir Lojas todo dia às {rc.hour:02d}:{rc.minute:02d} ({rc.timezone}), para cada "
                          "loja (reconcile.hour/minute/timezone na configuração); pula a loja com uma conferência "
                          "ainda em andamento.")
    def conferir_lojas_diario(context: ScheduleEvaluationContext):
        when = context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)
        stores = [s.id for s in settings.stores]
        runs = context.instance.get_runs(filters=RunsFilter(job_name=JOB, statuses=IN_PROGRESS))
        busy = {r.tags.get("dagster/partition") for r in runs} & set(stores)
        if busy:
            context.log.info(f"Lojas puladas (conferência anterior ainda em andamento): {', '.join(sorted(busy))}")
        requests = [RunRequest(partition_key=s, run_key=f"{JOB}:{s}:{when.isoformat()}") for s in stores
                    if s not in busy]
        return requests or SkipReason("Todas as lojas com conferência em andamento: " + ", ".join(sorted(busy)))

    return conferir_lojas_diario
