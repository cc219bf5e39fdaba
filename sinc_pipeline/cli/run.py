"""Run a job in process against the persistent instance, one store per run.

Used by the CLI (scripts, cron-less servers, tests). ``--set KEY=VALUE`` values go to every
op of the job whose config has that field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from dagster import DagsterEventType, DagsterInvalidConfigError, Definitions, JobDefinition

from sinc_pipeline.core.errors import SincError
from sinc_pipeline.defs.metadata import SyncCounts, sync_counts


@dataclass
class RunSummary:
    store: str | None
    job: str
    run_id: str
    success: bool
    assets: dict[str, dict] = field(default_factory=dict)
    checks: dict[str, dict] = field(default_factory=dict)
    error: str | None = None
    syncs: dict[str, SyncCounts] = field(default_factory=dict)   # asset -> counts, for the sync assets

    @property
    def failed_checks(self) -> list[str]:
        """Checks of severity ERROR that did not pass (a WARN check failing is only reported)."""
        return [k for k, v in self.checks.items() if not v["passou"] and v.get("severidade") == "ERROR"]

    def as_dict(self) -> dict:
        return {"loja": self.store, "job": self.job, "run_id": self.run_id, "sucesso": self.success,
                "ativos": self.assets, "verificacoes": self.checks,
                "verificacoes_com_falha": self.failed_checks, "erro": self.error,
                "sincronizacoes": [{"ativo": a, **c.as_dict()} for a, c in self.syncs.items()]}


def parse_sets(sets: list[str]) -> dict[str, Any]:
    out = {}
    for item in sets:
        if "=" not in item:
            raise SincError(f"--set: valor {item!r} inválido. Dica: use CHAVE=VALOR, ex.: --set modo=completa")
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


SYNC_STEP = "sincronizar_"


def run_config_for(job: JobDefinition, values: dict[str, Any]) -> dict:
    if not values:
        return {}
    ops: dict[str, dict] = {}
    fields_of = {}
    for node in job.graph.node_dict.values():
        schema = node.definition.config_schema
        fields_of[node.name] = getattr(getattr(schema, "config_type", None), "fields", None) or {}
    # A sync step (sincronizar_*) inside another feature's job (alinhar_estoque sends first) takes an
    # option only when no step of the feature itself does: --set simular=true previews the stock
    # alignment there, while the pending sales are still really sent, as the README says.
    own = {k for name, f in fields_of.items() if not name.startswith(SYNC_STEP) for k in f}
    used = set()
    for name, fields in fields_of.items():
        chosen = {k: v for k, v in values.items() if k in fields and not (name.startswith(SYNC_STEP) and k in own)}
        if chosen:
            ops[name] = {"config": chosen}
            used |= set(chosen)
    unknown = set(values) - used
    if unknown:
        raise SincError(f"--set: opção(ões) {sorted(unknown)} não existem no job {job.name}. "
                        "Dica: veja as opções do launchpad desse job no README.")
    return {"ops": ops}


def _value(v) -> Any:
    return getattr(v, "value", v)


def _job(defs: Definitions, job_name: str) -> JobDefinition:
    try:
        return defs.resolve_job_def(job_name)
    except Exception:
        names = sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__"))
        raise SincError(f"Job {job_name!r} não existe. Dica: use um de: {', '.join(names)}") from None


def job_is_partitioned(defs: Definitions, job_name: str) -> bool:
    return _job(defs, job_name).partitions_def is not None


def run_job(defs: Definitions, job_name: str, store: str | None, sets: dict[str, Any], instance,
            log_level: str = "WARNING") -> RunSummary:
    job = _job(defs, job_name)
    run_config = run_config_for(job, sets)
    run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    try:
        result = job.execute_in_process(run_config=run_config, instance=instance, partition_key=store,
                                        raise_on_error=False, tags={"sinc/origem_execucao": "cli"})
    except DagsterInvalidConfigError as err:
        problems = "; ".join(e.message for e in err.errors) or str(err)
        raise SincError(f"Opções inválidas para o job {job_name}: {problems}. "
                        "Dica: confira os valores de --set (veja o launchpad do job no README).") from None
    summary = RunSummary(store, job_name, result.run_id, result.success)
    for ev in result.get_asset_materialization_events():
        mat = ev.event_specific_data.materialization
        name, md = mat.asset_key.to_user_string(), {k: _value(v) for k, v in mat.metadata.items()}
        summary.assets[name] = md
        counts = sync_counts(defs, mat.asset_key, md)
        if counts is not None:
            summary.syncs[name] = counts
    for ev in result.all_events:
        if ev.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = ev.event_specific_data
            severity = getattr(getattr(data, "severity", None), "value", "ERROR")
            summary.checks[f"{data.asset_key.to_user_string()}:{data.check_name}"] = {
                "passou": data.passed, "severidade": severity}
        if ev.event_type in _FAILURES and summary.error is None:
            summary.error = _error_text(ev.event_specific_data)
    if not result.success and summary.error is None:
        summary.error = "Execução falhou; veja os eventos da execução no Dagster."
    return summary


_FAILURES = (DagsterEventType.STEP_FAILURE, DagsterEventType.RESOURCE_INIT_FAILURE, DagsterEventType.RUN_FAILURE)


def _error_text(data) -> str | None:
    """The user-facing message of a failure: a Failure's description, else the deepest cause."""
    failure = getattr(data, "user_failure_data", None)
    if failure is not None and failure.description:
        return failure.description
    err, message = getattr(data, "error", None), None
    while err is not None:
        message = err.message
        err = err.cause
    if message is None:
        return None
    first = message.strip().splitlines()[0]
    return first.split(": ", 1)[1] if first.startswith(("dagster.", "sinc_pipeline.")) and ": " in first else first
