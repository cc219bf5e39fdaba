"""Alerts: the run-failure sensor ``alerta_falhas`` (on by default).

Every failed run (any job of this code location) is written to the failures store
(``health/failures.py``: JSON lines under ``dagster_home``, read by ``saude_lojas``) and to the
sensor's log, and POSTed as JSON to ``alerts.webhook_url`` when one is configured. A webhook
that fails or times out is logged; the sensor never raises because of it.
"""
import datetime as dt
from typing import Any

from dagster import DefaultSensorStatus, Definitions, RunFailureSensorContext, run_failure_sensor

from sinc_pipeline.health.failures import RunFailure, append_failure, post_webhook
from sinc_pipeline.settings import Settings

SENSOR = "alerta_falhas"
PARTITION_TAG = "dagster/partition"


def _config_stores(value: Any) -> list[str]:
    """Every list under a ``lojas`` key anywhere in a run config (the tick model lists its stores there)."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "lojas" and isinstance(v, (list, tuple)):
                found += [str(s) for s in v]
            else:
                found += _config_stores(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            found += _config_stores(v)
    return found


def run_stores(tags: dict, run_config: dict | None) -> list[str]:
    """The stores a run was for: its partition tag, else the ``lojas`` of its config (order kept, unique)."""
    stores = [tags[PARTITION_TAG]] if tags.get(PARTITION_TAG) else _config_stores(run_config or {})
    return list(dict.fromkeys(stores))


def failure_of(context: RunFailureSensorContext) -> RunFailure:
    run = context.dagster_run
    messages = []
    for ev in context.get_step_failure_events():
        err = getattr(ev.event_specific_data, "error", None)
        while err is not None and err.cause is not None:      # the user's exception, not Dagster's wrapper
            err = err.cause
        messages.append(f"{ev.step_key}: {err.message.strip() if err else ev.message}")
    if not messages:
        messages.append(context.failure_event.message or "falha sem mensagem")
    return RunFailure(run_id=run.run_id, job=run.job_name, stores=run_stores(run.tags, run.run_config),
                      error=" | ".join(messages)[:4000], at=dt.datetime.now(dt.timezone.utc).isoformat())


def build(settings: Settings) -> Definitions:
    @run_failure_sensor(name=SENSOR, default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
                        description="Registra cada execução com falha (loja, job, erro) para o relatório "
                                    "saude_lojas e o log, e avisa o webhook configurado (alerts.webhook_url).")
    def alerta_falhas(context: RunFailureSensorContext):
        failure = failure_of(context)
        append_failure(settings.dagster_home, failure)
        context.log.error(failure.message())
        url = settings.alerts.webhook_url
        if url:
            problem = post_webhook(url, failure, settings.alerts.timeout_seconds)
            if problem:
                context.log.warning(f"Webhook de alerta não recebeu a falha ({problem}); ela continua "
                                    "registrada em saude_lojas.")

    return Definitions(sensors=[alerta_falhas])
