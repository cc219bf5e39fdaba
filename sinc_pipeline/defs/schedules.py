"""Schedules: Intervalo Enviar / Receber from the config, and the 5-minute automatic update.

Any interval from 1 to 1440 minutes works: when cron can express it (a divisor of 60, or whole
hours dividing 24) it is the cron itself; otherwise the schedule ticks every minute and runs
only when the minutes since the Unix epoch are a multiple of the interval.

``enviar_dados`` / ``receber_dados`` request one run per tick listing the stores to do
(``defs/tick.py``); ``forcar_atualizacao`` one run per store. A tick skips a store whose previous run *of the same job* is still queued or going, so an
interval never piles up behind itself; the runs of other jobs do not count (send and receive
of one store queue behind each other through the run queue's per-store limit, see
``cli/instance.py``, instead of making each other skip: each schedule keeps its interval).
"""
from __future__ import annotations

import datetime as dt

from dagster import (DagsterRunStatus, DefaultScheduleStatus, RunRequest, RunsFilter, ScheduleEvaluationContext,
                     SkipReason, schedule)

from sinc_pipeline.settings import Settings
from sinc_pipeline.defs.resources import PARTITION_TAG
from sinc_pipeline.defs.tick import OP_NAME, STORES_TAG, TICK_JOBS

IN_PROGRESS = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
               DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def cron_for(minutes: int) -> tuple[str, bool]:
    """(cron expression, whether ticks must be filtered by the epoch-minute modulo)."""
    if minutes < 60 and 60 % minutes == 0:
        return ("* * * * *" if minutes == 1 else f"*/{minutes} * * * *"), False
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        hours = minutes // 60
        return ("0 * * * *" if hours == 1 else f"0 */{hours} * * *"), False
    return "* * * * *", True


def is_due(when: dt.datetime, minutes: int) -> bool:
    epoch_minutes = int(when.timestamp() // 60)
    return epoch_minutes % minutes == 0


def run_stores(run) -> set[str]:
    """The stores a run does: its partition (``forcar_atualizacao``), or the ``lojas`` of a tick run
    (``defs/tick.py``: the ``sinc/lojas`` tag, else its op config; an empty list = every store)."""
    if run.tags.get(PARTITION_TAG):
        return {run.tags[PARTITION_TAG]}
    if run.tags.get(STORES_TAG):
        return set(run.tags[STORES_TAG].split(","))
    for op_cfg in ((run.run_config or {}).get("ops") or {}).values():
        lojas = ((op_cfg or {}).get("config") or {}).get("lojas")
        if lojas is not None:
            return set(lojas) or {ALL}
    return {ALL}


ALL = "*"


def busy_stores(instance, job_name: str, store_ids: list[str]) -> set[str]:
    """The stores with a run of ``job_name`` still queued or going (one query for all stores)."""
    runs = instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=IN_PROGRESS))
    busy = set().union(*(run_stores(r) for r in runs)) if runs else set()
    return set(store_ids) if ALL in busy else busy & set(store_ids)


def _requests(context: ScheduleEvaluationContext, settings: Settings, job_name: str, minutes: int, filtered: bool):
    when = context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)
    if filtered and not is_due(when, minutes):
        return SkipReason(f"Intervalo de {minutes} min: este minuto não é de execução.")
    stores = [s.id for s in settings.stores]
    busy = busy_stores(context.instance, job_name, stores)
    todo = [s for s in stores if s not in busy]
    if job_name in TICK_JOBS:   # one run for the whole tick (defs/tick.py)
        requests = [RunRequest(run_key=f"{job_name}:{when.isoformat()}", tags={STORES_TAG: ",".join(todo)},
                               run_config={"ops": {OP_NAME[TICK_JOBS[job_name]]: {"config": {"lojas": todo}}}})
                    ] if todo else []
    else:
        requests = [RunRequest(partition_key=s, run_key=f"{job_name}:{s}:{when.isoformat()}") for s in todo]
    if busy:
        context.log.info(f"Lojas puladas (execução anterior de {job_name} ainda em andamento): "
                         f"{', '.join(sorted(busy))}")
    if not requests:
        return SkipReason(f"Todas as lojas com execução anterior de {job_name} em andamento: "
                          f"{', '.join(sorted(busy))}")
    return requests


def _interval_schedule(settings: Settings, name: str, job_name: str, minutes: int, status, description: str):
    cron, filtered = cron_for(minutes)

    @schedule(name=name, job_name=job_name, cron_schedule=cron, default_status=status, description=description,
              execution_timezone="UTC")
    def _sched(context: ScheduleEvaluationContext):
        return _requests(context, settings, job_name, minutes, filtered)

    return _sched


def build_schedules(settings: Settings) -> list:
    send, recv = settings.intervals.send_minutes, settings.intervals.receive_minutes
    return [
        _interval_schedule(settings, "enviar_dados", "enviar_dados", send, DefaultScheduleStatus.RUNNING,
                           f"Intervalo Enviar: envia os dados locais de cada loja a cada {send} min."),
        _interval_schedule(settings, "receber_dados", "receber_dados", recv, DefaultScheduleStatus.RUNNING,
                           f"Intervalo Receber: recebe os dados da origem em cada loja a cada {recv} min."),
        _interval_schedule(settings, "atualizacao_automatica_5min", "forcar_atualizacao", 5,
                           DefaultScheduleStatus.STOPPED,
                           "Ativar Atualização Automática (5 min): Forçar Atualização de todas as lojas a cada 5 "
                           "minutos. Desligada até ser ligada aqui."),
    ]
