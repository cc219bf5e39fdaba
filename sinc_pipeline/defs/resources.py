"""Resources: the settings, and the per-store lock held for a whole run."""
from __future__ import annotations

from dagster import InitResourceContext, resource

from sinc_pipeline.settings import Settings
from sinc_pipeline.core.locks import store_lock
from sinc_pipeline.defs.failures import failures_as_dagster

PARTITION_TAG = "dagster/partition"


def settings_resource(settings: Settings):
    @resource(description="Configuração do sinc_pipeline (arquivo YAML validado).")
    def _settings(_):
        return settings
    return _settings


def lock_resource(settings: Settings):
    @resource(description="Trava por loja: duas execuções da mesma loja nunca se sobrepõem.")
    def _lock(context: InitResourceContext):
        run = context.dagster_run
        store_id = run.tags.get(PARTITION_TAG) if run else None
        if not store_id:
            yield None
            return
        with failures_as_dagster(), store_lock(settings.dagster_home, store_id):
            yield store_id
    return _lock
