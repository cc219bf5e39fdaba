"""Dead runs found in seconds: the sensor ``execucoes_orfas`` (on by default).

Dagster's run monitoring (on in the ``dagster.yaml`` the CLI writes) can only end a STARTED run
whose process died when the run passes its ``dagster/max_runtime``: the default run launcher
has no worker health check. This sensor looks at every STARTED run whose process (the pid of its
RUN_START event) ran on this machine's launcher and marks it failed as soon as that process is
gone, naming the pid, so its store is requested again by the next tick. Only with the default
run launcher (processes on this machine); other launchers keep Dagster's own monitoring.
"""
import os

from dagster import (DagsterEventType, DagsterRunStatus, DefaultSensorStatus, Definitions, RunsFilter,
                     SensorEvaluationContext, SkipReason, sensor)

from sinc_pipeline.settings import Settings

SENSOR = "execucoes_orfas"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_pid(instance, run_id: str) -> int | None:
    logs = instance.event_log_storage.get_logs_for_run(run_id, of_type={DagsterEventType.RUN_START}, limit=1)
    event = logs[0].dagster_event if logs else None
    return getattr(event, "pid", None)


def fail_orphans(instance) -> list[str]:
    """Mark failed every STARTED run whose process is gone; the run ids."""
    failed = []
    for rec in instance.get_run_records(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED])):
        run = rec.dagster_run
        pid = run_pid(instance, run.run_id)
        if pid is None or process_alive(pid):
            continue
        fresh = instance.get_run_by_id(run.run_id)
        if fresh is None or fresh.status != DagsterRunStatus.STARTED:
            continue
        instance.report_run_failed(fresh, f"O processo da execução (pid {pid}) terminou sem avisar o Dagster "
                                          "(kill -9, queda ou reinício da máquina): execução marcada como falha.")
        failed.append(run.run_id)
    return failed


def build(settings: Settings) -> Definitions:
    @sensor(name=SENSOR, default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=60,
            description="Marca como falha as execuções cujo processo morreu (kill -9, reinício da máquina), para "
                        "que a loja volte a ser sincronizada no próximo intervalo.")
    def execucoes_orfas(context: SensorEvaluationContext):
        if type(context.instance.run_launcher).__name__ != "DefaultRunLauncher":
            return SkipReason("Lançador de execuções não é o local: o monitoramento do Dagster cuida disso.")
        failed = fail_orphans(context.instance)
        if failed:
            context.log.warning(f"{len(failed)} execução(ões) órfã(s) marcada(s) como falha: {', '.join(failed)}")
            return SkipReason(f"{len(failed)} execução(ões) órfã(s) marcada(s) como falha.")
        return SkipReason("Nenhuma execução órfã.")

    return Definitions(sensors=[execucoes_orfas])
