"""Saying so when a slower (or degraded) path is taken: once per table and run, at WARNING.

The core never imports Dagster; it logs to the Python logger ``sinc_pipeline`` (its modules'
loggers are children of it). A Dagster run shows these records because the instance's
``dagster.yaml`` lists the logger under ``python_logs.managed_python_loggers`` (``cli/instance.py``
writes it); where an instance does not, ``defs/steps.py`` forwards them to the step's log.

``run_scope(run_id)`` delimits a run: inside it, ``warn_once(key, message)`` logs a key the first
time only. The memory belongs to the run id, so the steps of one run (each opens its own scope)
share it and a new run starts afresh; scopes nest (an inner one joins the outer one). Outside any
scope nothing is remembered and every call logs. The memory is process-wide, not per thread:
reads on prefetch threads (``io/chunks.py``) count for the run that started them.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

LOGGER = "sinc_pipeline"
log = logging.getLogger(LOGGER)

_lock = threading.Lock()
_depth = 0
_scope_id: str | None = None
_seen: set[tuple] = set()


@contextlib.contextmanager
def run_scope(run_id: str | None = None) -> Iterator[None]:
    """The warnings' memory for one run (see the module docstring). Without ``run_id`` an
    outermost scope always starts with an empty memory."""
    global _depth, _scope_id
    with _lock:
        if _depth == 0 and (run_id is None or run_id != _scope_id):
            _seen.clear()
            _scope_id = run_id
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


def warn_once(key: tuple, message: str, logger: logging.Logger | None = None) -> bool:
    """Log ``message`` at WARNING unless ``key`` was already warned in the current run scope.
    Returns whether it was logged."""
    with _lock:
        if _depth:
            if key in _seen:
                return False
            _seen.add(key)
    (logger or log).warning(message)
    return True
