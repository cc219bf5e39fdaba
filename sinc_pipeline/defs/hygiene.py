"""Instance hygiene: the daily job ``limpeza_dagster`` and its schedule (on by default).

Deletes the finished runs (and their event logs: ``DagsterInstance.delete_run``) last updated more
than ``retention.runs_days`` days ago, except a run that holds some asset partition's latest
materialization or latest check evaluation (``health/retention.py``), so the catalog keeps every
partition's state. The counts removed are the op's output metadata. Tick retention is in the
``dagster.yaml`` the CLI writes (``cli/instance.py``).
"""

import datetime as dt
import warnings

from dagster import (DagsterEventType, DagsterRunStatus, DefaultScheduleStatus, Definitions, EventRecordsFilter,
                     MetadataValue, OpExecutionContext, Out, Output, RunsFilter, ScheduleDefinition, job, op)

from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.health.retention import AssetEvent, protected_runs, runs_to_delete
from sinc_pipeline.settings import Settings

JOB = "limpeza_dagster"
FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]


def _asset_events(instance) -> list[AssetEvent]:
    """Every materialization and check evaluation's (key, partition, storage id, run id)."""
    out: list[AssetEvent] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for event_type, kind in ((DagsterEventType.ASSET_MATERIALIZATION, "materializacao"),
                                 (DagsterEventType.ASSET_CHECK_EVALUATION, "verificacao")):
            for rec in instance.get_event_records(EventRecordsFilter(event_type=event_type), ascending=True):
                dagster_event = rec.event_log_entry.dagster_event
                data = dagster_event.event_specific_data
                if kind == "materializacao":
                    key, partition = data.materialization.asset_key.to_user_string(), data.materialization.partition
                else:
                    key = f"{data.asset_key.to_user_string()}:{data.check_name}"
                    partition = getattr(data, "partition", None) or dagster_event.partition
                out.append(AssetEvent(kind, key, partition, rec.storage_id, rec.run_id))
    return out


def purge_old_runs(instance, runs_days: int, now: dt.datetime | None = None,
                   exclude: frozenset[str] = frozenset()) -> dict[str, int]:
    """Delete the old unprotected finished runs; return the counts (runs, events, kept)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = now - dt.timedelta(days=runs_days)
    old = [r.dagster_run.run_id for r in
           instance.get_run_records(filters=RunsFilter(statuses=FINISHED, updated_before=cutoff))]
    old = [r for r in old if r not in exclude]
    protected = protected_runs(_asset_events(instance)) if old else set()
    doomed = runs_to_delete(old, protected)
    events = 0
    for run_id in doomed:
        events += len(instance.all_logs(run_id))
        instance.delete_run(run_id)
    return {"execucoes_removidas": len(doomed), "eventos_removidos": events,
            "execucoes_antigas_mantidas": len(old) - len(doomed)}


def _job(settings: Settings):
    days = settings.retention.runs_days

    @op(name="remover_execucoes_antigas", out=Out(dict, description="Contagens removidas."),
        description=f"Remove as execuções terminadas há mais de {days} dia(s) e seus eventos, mantendo as "
                    "que guardam a última materialização ou verificação de cada partição.")
    def remover_execucoes_antigas(context: OpExecutionContext):
        counts = purge_old_runs(context.instance, days, exclude=frozenset({context.run_id}))
        context.log.info(f"{counts['execucoes_removidas']} execução(ões) e {counts['eventos_removidos']} evento(s) "
                         f"removidos; {counts['execucoes_antigas_mantidas']} execução(ões) antiga(s) mantida(s) "
                         "por guardarem o último estado de uma partição")
        return Output(counts, metadata={k: MetadataValue.int(v) for k, v in counts.items()}
                      | {"dias_de_retencao": MetadataValue.int(days)})

    @job(name=JOB, tags=job_tags(settings, JOB),
         description=f"Limpeza diária da instância do Dagster: execuções e eventos com mais de {days} dia(s).")
    def limpeza_dagster():
        remover_execucoes_antigas()

    return limpeza_dagster


def build(settings: Settings) -> Definitions:
    cleanup = _job(settings)
    r = settings.retention
    schedule = ScheduleDefinition(name=f"{JOB}_diaria", job=cleanup, cron_schedule=f"0 {r.hour} * * *",
                                  execution_timezone=r.timezone, default_status=DefaultScheduleStatus.RUNNING,
                                  description="Limpeza diária das execuções antigas do Dagster.")
    return Definitions(jobs=[cleanup], schedules=[schedule])
