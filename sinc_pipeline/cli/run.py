"""Run a job in process against the persistent instance: one store per run, or one run for
all the stores of a tick job (``enviar_dados`` / ``receber_dados``, ``defs/tick.py``).

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
from sinc_pipeline.defs.tick import OK, OP_NAME, RESULT_KEY, STORES_TAG, TICK_JOBS


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
    """Whether the job runs per store: a partitioned job, or a tick job (one run, its stores in config)."""
    return job_name in TICK_JOBS or _job(defs, job_name).partitions_def is not None


def run_stores(defs: Definitions, job_name: str, stores: list[str | None], sets: dict[str, Any], instance,
               log_level: str = "WARNING", executor: bool = False) -> list[RunSummary]:
    """One summary per store: a tick job does all the stores in ONE run (``defs/tick.py``); any
    other job one run per store (or one run, store None, for a job without partitions).
    ``executor``: a tick job runs on its own executor (``tick.executor``), see ``run_tick``."""
    if job_name in TICK_JOBS and None not in stores:
        return run_tick(defs, job_name, list(stores), sets, instance, log_level, executor)
    return [run_job(defs, job_name, s, sets, instance, log_level, executor) for s in stores]


def run_job(defs: Definitions, job_name: str, store: str | None, sets: dict[str, Any], instance,
            log_level: str = "WARNING", executor: bool = False) -> RunSummary:
    if job_name in TICK_JOBS and store is not None:
        return run_tick(defs, job_name, [store], sets, instance, log_level, executor)[0]
    result = _execute(defs, job_name, sets, instance, log_level, partition_key=store)
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


DEFINITIONS_MODULE = "sinc_pipeline.definitions"   # what workspace.yaml loads: defs from $SINC_CONFIG


def reconstructable_job(job_name: str):
    """The job as another process loads it (the run's steps in other processes or on Celery
    workers): ``sinc_pipeline.definitions`` built from ``$SINC_CONFIG``."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    return ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs").get_reconstructable_job(job_name)


def _execute(defs: Definitions, job_name: str, sets: dict[str, Any], instance, log_level: str,
             partition_key: str | None = None, lojas: list[str] | None = None, executor: bool = False):
    job = _job(defs, job_name)
    run_config = run_config_for(job, sets)
    if lojas is not None:
        op_name = OP_NAME[TICK_JOBS[job_name]]
        run_config.setdefault("ops", {}).setdefault(op_name, {}).setdefault("config", {})["lojas"] = lojas
    run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    tags = {"sinc/origem_execucao": "cli", **({STORES_TAG: ",".join(lojas)} if lojas else {})}
    try:
        if executor and job.executor_def.name != "in_process":
            from dagster import execute_job
            return execute_job(reconstructable_job(job_name), instance, run_config=run_config, tags=tags,
                               raise_on_error=False)
        return job.execute_in_process(run_config=run_config, instance=instance, partition_key=partition_key,
                                      raise_on_error=False, tags=tags)
    except DagsterInvalidConfigError as err:
        problems = "; ".join(e.message for e in err.errors) or str(err)
        raise SincError(f"Opções inválidas para o job {job_name}: {problems}. "
                        "Dica: confira os valores de --set (veja o launchpad do job no README).") from None


def run_tick(defs: Definitions, job_name: str, stores: list[str], sets: dict[str, Any], instance,
             log_level: str = "WARNING", executor: bool = False) -> list[RunSummary]:
    """A tick job for ``stores`` in one run, split into one summary per store: the materializations
    and checks by their partition, each store's outcome from the ``lojas`` metadata of the steps
    (the op, or each shard and the gathering op). In process by default; ``executor=True`` runs
    it on the job's executor (``tick.executor``: other processes, Celery workers), the job then
    loaded from ``$SINC_CONFIG`` (``reconstructable_job``) and ``instance`` a persistent one."""
    result = _execute(defs, job_name, sets, instance, log_level, lojas=stores, executor=executor)
    by_store = {s: RunSummary(s, job_name, result.run_id, True) for s in stores}
    outcome, run_error = {}, None
    for ev in result.all_events:
        data = ev.event_specific_data
        if ev.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = data.materialization
            summary = by_store.get(mat.partition)
            if summary is not None:
                name, md = mat.asset_key.to_user_string(), {k: _value(v) for k, v in mat.metadata.items()}
                summary.assets[name] = md
                counts = sync_counts(defs, mat.asset_key, md)
                if counts is not None:
                    summary.syncs[name] = counts
        elif ev.event_type == DagsterEventType.ASSET_CHECK_EVALUATION and data.partition in by_store:
            severity = getattr(getattr(data, "severity", None), "value", "ERROR")
            by_store[data.partition].checks[f"{data.asset_key.to_user_string()}:{data.check_name}"] = {
                "passou": data.passed, "severidade": severity}
        elif ev.event_type == DagsterEventType.STEP_OUTPUT:
            outcome.update(_value(data.metadata.get(RESULT_KEY)) or {})
        elif ev.event_type in _FAILURES:
            failure = getattr(data, "user_failure_data", None)
            if failure is not None and RESULT_KEY in failure.metadata:
                outcome.update(_value(failure.metadata[RESULT_KEY]))
            elif run_error is None:
                run_error = _error_text(data)
    for s, summary in by_store.items():
        o = outcome.get(s)
        if o is None:   # the op never reached this store (config refused, run failed before)
            summary.success = False
            summary.error = run_error or "Execução falhou; veja os eventos da execução no Dagster."
        elif o["situacao"] != OK:
            summary.success, summary.error = False, o["erro"]
    return list(by_store.values())


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
