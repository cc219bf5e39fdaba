"""Who runs the steps of a tick job (``tick.executor``).

* ``in_process`` (default): the run's own process, one step after the other (the shards then
  follow each other, each with its pool).
* ``multiprocess``: one process per step on this machine, up to ``tick.shards`` at once.
* ``celery``: each step is a task on ``tick.celery.broker``, run by whichever Celery worker
  listening on ``tick.celery.queue`` takes it (``defs/celery_app.py``), on any machine that
  shares the instance and has the same code and config.

``JobDefinition.execute_in_process`` (the CLI's default, the tests) always runs in process,
whatever the job's executor; the CLI hands a job of another executor to it (``cli/run.py``).
"""
from __future__ import annotations

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

from sinc_pipeline.settings import Settings

QUEUE_TAG = "dagster-celery/queue"   # dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG


def celery_app_args(settings: Settings) -> dict:
    """The Celery app's settings, the same for the executor (which sends) and the workers."""
    c = settings.tick.celery
    return {"broker": c.broker, "backend": c.backend, "config_source": dict(c.config_source)}


def tick_executor(settings: Settings) -> ExecutorDefinition:
    kind = settings.tick.executor
    if kind == "multiprocess":
        return multiprocess_executor.configured({"max_concurrent": settings.tick.shards}, name="multiprocess")
    if kind == "celery":
        from dagster_celery import celery_executor
        return celery_executor.configured(celery_app_args(settings), name="celery")
    return in_process_executor


def step_tags(settings: Settings) -> dict:
    """Tags of the tick's ops: the Celery queue their tasks go to (only with the Celery executor)."""
    return {QUEUE_TAG: settings.tick.celery.queue} if settings.tick.executor == "celery" else {}


def runs_in_process(settings: Settings) -> bool:
    return settings.tick.executor == "in_process"
