"""Around every call from an asset, op or check body into the core: ``with core_step(context):``.

* the run's warning scope (``core.logs.run_scope`` keyed by the run id): a slower path is said
  once per table and run, however many steps read the table;
* those warnings in the run's log: the persistent instance captures the ``sinc_pipeline`` logger
  (``python_logs.managed_python_loggers`` in the dagster.yaml ``cli/instance.py`` writes); where an
  instance does not (an ephemeral one, a dagster.yaml of your own), they are forwarded to
  ``context.log`` here, so they show either way and never twice;
* a ``SincError`` raised as a Dagster ``Failure`` with its parts (``failures.py``).
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from sinc_pipeline.core.logs import LOGGER, run_scope
from sinc_pipeline.defs.failures import failures_as_dagster


class _ToStepLog(logging.Handler):
    """Re-logs records of the ``sinc_pipeline`` logger (WARNING and above) on the step's log."""

    def __init__(self, step_log):
        super().__init__(logging.WARNING)
        self.step_log = step_log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.step_log.log(record.levelno, record.getMessage())
        except Exception:  # noqa: BLE001 - logging must never break a run
            self.handleError(record)


def captured_by_instance(instance) -> bool:
    managed = getattr(instance, "managed_python_loggers", None) or []
    return LOGGER in managed or "root" in managed


@contextlib.contextmanager
def _forwarded(context) -> Iterator[None]:
    if captured_by_instance(context.instance):
        yield
        return
    handler, logger = _ToStepLog(context.log), logging.getLogger(LOGGER)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@contextlib.contextmanager
def core_step(context) -> Iterator[None]:
    with run_scope(context.run.run_id), _forwarded(context), failures_as_dagster():
        yield
