"""The tags every job carries: its name for the run list, and its time limit.

``dagster/max_runtime`` makes Dagster's run monitoring (turned on in the ``dagster.yaml`` the
CLI writes, ``cli/instance.py``) end a run that hangs past its limit, so its store is freed
for the next tick. Copying a whole base (snapshot, restore, a new store) gets the longer limit.
"""
from __future__ import annotations

from sinc_pipeline.settings import Settings

JOB_TAG = "sinc/job"
MAX_RUNTIME_TAG = "dagster/max_runtime"
LONG_JOBS = frozenset({"gerar_base_dados", "restaurar_base", "criar_base_loja"})


def job_tags(settings: Settings, name: str) -> dict[str, str]:
    minutes = settings.long_run_timeout_minutes if name in LONG_JOBS else settings.run_timeout_minutes
    return {JOB_TAG: name, MAX_RUNTIME_TAG: str(minutes * 60)}
