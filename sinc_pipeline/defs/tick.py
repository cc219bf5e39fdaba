"""One tick of ``enviar_dados`` / ``receber_dados`` = one run for all its stores.

The job is one op (``rodada_envio`` / ``rodada_recebimento``) with config ``lojas`` (empty = all
stores). The op syncs the stores concurrently in a bounded thread pool (``tick.workers``); the
sync of a store (plan, units, checks: where the origin is read and written) is held under a
semaphore of ``tick.origin_connections``, so the origin never serves more stores at once than
that. Each store takes its per-store lock first (``core/locks.py``): a store locked by another
run is skipped and reported, not failed.

Per store the run records what the partitioned asset job recorded: one ``AssetMaterialization``
per table with ``partition=<loja>`` and the same metadata (``sync_assets.report_events``), and one
``AssetCheckEvaluation`` of ``origem_e_loja_conferem`` per table and store, so the asset's
partitions and checks in the UI look as before. A store that fails does not lose the others'
results (each store's events are logged as it ends); the op fails at the end naming the failed
stores. The op's output (or its failure) carries ``lojas``: per store ``ok`` / ``falhou`` /
``travada`` and the error, which the CLI splits into one summary per store.

A store whose tables of the direction are all in journal mode is probed first (``capture/probe.py``,
``tick.probe``): with nothing to do it is not synced, and records one materialization per table
saying so (``defs/idle.py``), without re-running the check.
"""

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from sinc_pipeline.defs.freshness import fresh_evaluations
from dagster import (AssetCheckEvaluation, AssetCheckResult, AssetKey, AssetMaterialization, Config, Failure,
                     MetadataValue, OpExecutionContext, Output, job, op)

from sinc_pipeline.capture.probe import idle_probe
from sinc_pipeline.core.errors import LockedError, SincError
from sinc_pipeline.core.locks import store_lock
from sinc_pipeline.defs.failures import failure_metadata
from sinc_pipeline.defs.idle import idle_events
from sinc_pipeline.defs.metadata import result_metadata
from sinc_pipeline.defs.preview import preview_check, preview_metadata
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.sync_assets import CHECK, keys_for, report_events, table_key
from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.direction import run_units

TICK_JOBS = {"enviar_dados": "send", "receber_dados": "receive"}
OP_NAME = {"send": "rodada_envio", "receive": "rodada_recebimento"}
STORES_TAG = "sinc/lojas"     # the stores a tick run does, comma-separated (schedules.busy_stores)
RESULT_KEY = "lojas"          # output / failure metadata: store -> {situacao, erro}
OK, FAILED, LOCKED = "ok", "falhou", "travada"
VERB = {"send": "envio", "receive": "recebimento"}


class RodadaConfig(Config):
    lojas: list[str] = []     # empty: every store of the config
    simular: bool = False     # the preview (defs/preview.py): nothing written


@dataclass
class StoreOutcome:
    store: str
    status: str = OK
    error: str | None = None
    parts: dict | None = None                     # a SincError's parts (defs/failures.py)
    events: list = field(default_factory=list)    # AssetMaterialization / AssetCheckEvaluation, in order
    lines: list = field(default_factory=list)     # (level, message) for the run's log


def as_materialization(store_id: str, result) -> AssetMaterialization:
    return AssetMaterialization(asset_key=result.asset_key, partition=store_id, metadata=result.metadata)


def as_evaluation(store_id: str, result: AssetCheckResult) -> AssetCheckEvaluation:
    return AssetCheckEvaluation(asset_key=result.asset_key, check_name=result.check_name, passed=result.passed,
                                metadata=result.metadata, severity=result.severity, description=result.description,
                                partition=store_id)


def _events(store_id: str, results) -> list:
    out = []
    for r in results:
        out.append(as_evaluation(store_id, r) if isinstance(r, AssetCheckResult) else as_materialization(store_id, r))
    return out


def sync_store(settings: Settings, store_id: str, direction: str, run_id: str, simulate: bool,
               origin: threading.Semaphore) -> StoreOutcome:
    """One store of a tick, under its lock; every error is caught into the outcome."""
    out = StoreOutcome(store_id)
    failed: list[SincError] = []
    try:
        with store_lock(settings.dagster_home, store_id, settings.tick.lock_wait_seconds), origin:
            idle = idle_probe(settings, store_id, direction, run_id, simulate)   # nothing to do: not synced
            if idle is not None:
                out.events += idle_events(settings, store_id, direction, idle)
            for unit, res in ([] if idle else run_units(settings, store_id, direction, run_id=run_id,
                                                         simulate=simulate)):
                if isinstance(res, SincError):
                    out.lines.append(("error", f"{', '.join(t.name for t in unit)} ({store_id}): {res}"))
                    failed.append(res)
                    continue
                if simulate:
                    for t, r in zip(unit, res):
                        out.events.append(as_materialization(store_id, _Result(table_key(t), {
                            **result_metadata(r), **preview_metadata(settings, run_id, r)})))
                        out.events.append(as_evaluation(store_id, preview_check(table_key(t), CHECK)))
                    continue
                log = lambda msg: out.lines.append(("info", msg))   # noqa: E731
                out.events += _events(store_id, report_events(log, settings, store_id, unit, res))
            _twoway(settings, store_id, run_id, simulate, out, failed)
            if direction == "send" and settings.fiscal is not None and not idle:   # the quarantine check, per store
                from sinc_pipeline.defs.fiscal_assets import quarantine_result
                out.events.append(as_evaluation(store_id, quarantine_result(settings, store_id)))
        if failed:
            err = failed[0] if len(failed) == 1 else SincError(
                f"{len(failed)} unidades de sincronização falharam:\n" + "\n".join(f"  - {e}" for e in failed))
            out.status, out.error, out.parts = FAILED, str(err), failure_metadata(err)
    except LockedError as err:
        out.status, out.error = LOCKED, str(err)
        out.lines.append(("warning", f"Loja {store_id} pulada: {err}"))
    except SincError as err:
        out.status, out.error, out.parts = FAILED, str(err), failure_metadata(err)
        out.lines.append(("error", f"Loja {store_id}: {err}"))
    except Exception as err:  # noqa: BLE001 - one store's bug must not lose the others' results
        out.status, out.error = FAILED, f"{type(err).__name__}: {err}"
        out.lines.append(("error", f"Loja {store_id}: {out.error}"))
    return out


def _twoway(settings: Settings, store_id: str, run_id: str, simulate: bool, out: StoreOutcome,
            failed: list) -> None:
    """The two-way tables (``direction: both``) of the store, in either tick: each sync merges
    both sides, so a store's edit reaches the origin at the next send tick and the origin's at the
    next receive tick; an idle one (journal mode) reads no row. Recorded as the multi-asset
    ``sincronizar_bidirecional`` records them."""
    if not any(t.direction == "both" for t in settings.tables):
        return
    from sinc_pipeline.defs.twoway_assets import twoway_results
    for unit, res in run_units(settings, store_id, "both", run_id=run_id, simulate=simulate):
        if isinstance(res, SincError):
            out.lines.append(("error", f"{', '.join(t.name for t in unit)} ({store_id}): {res}"))
            failed.append(res)
            continue
        for t, r in zip(unit, res):
            new = r.extra.get("conflitos_novos", 0)
            out.lines.append(("info", f"{t.name} ({store_id}, bidirecional): +{r.inserted} ~{r.updated} "
                                      f"-{r.deleted}" + (f", {new} conflito(s) novo(s)" if new else "")))
            out.events += _events(store_id, twoway_results(settings, store_id, t, r, run_id, simulate))


@dataclass
class _Result:   # the two fields as_materialization reads, for the preview
    asset_key: object
    metadata: dict


def stores_of(settings: Settings, wanted: list[str]) -> list[str]:
    return [settings.store(s).id for s in wanted] if wanted else [s.id for s in settings.stores]


def sync_stores(context: OpExecutionContext, settings: Settings, stores: list[str], direction: str, simulate: bool,
                origin_limit: int, outcomes: dict[str, StoreOutcome]):
    """The stores in a pool of ``tick.workers`` threads, at most ``origin_limit`` against the origin;
    yields each store's events as it ends (a later failure keeps them) and fills ``outcomes``."""
    origin = threading.BoundedSemaphore(origin_limit)
    with core_step(context), ThreadPoolExecutor(max_workers=min(settings.tick.workers, len(stores) or 1),
                                                thread_name_prefix="rodada") as pool:
        futures = [pool.submit(sync_store, settings, s, direction, context.run_id, simulate, origin) for s in stores]
        for fut in as_completed(futures):
            o = fut.result()
            outcomes[o.store] = o
            for level, msg in o.lines:
                getattr(context.log, level)(msg)
            yield from o.events


def as_result(o: StoreOutcome) -> dict:
    """A store's outcome without its events (already logged): what a shard passes on."""
    return {"situacao": o.status, "erro": o.error, "partes": o.parts}


def synced_keys(outcomes) -> list[str]:
    return sorted({e.asset_key.to_user_string() for o in outcomes for e in o.events
                   if isinstance(e, AssetMaterialization)})


def summary_of(results: dict[str, dict]) -> dict:
    return {s: {"situacao": r["situacao"], "erro": r["erro"]} for s, r in results.items()}


def finish(settings: Settings, direction: str, stores: list[str], results: dict[str, dict], synced: list[str],
           simulate: bool):
    """The tick's end, once for all its stores: the freshness evaluations of the tables synced,
    then the output with ``lojas``, or a Failure naming the failed stores (with the same metadata)."""
    checked = set(keys_for(settings, direction))   # two-way tables have no freshness check
    keys = [k for k in (AssetKey.from_user_string(k) for k in synced) if k in checked]
    if keys and not simulate:
        yield from fresh_evaluations(settings, direction, keys)
    md = {RESULT_KEY: MetadataValue.json(summary_of({s: results[s] for s in stores})),
          "lojas_ok": sum(results[s]["situacao"] == OK for s in stores),
          "lojas_travadas": sorted(s for s in stores if results[s]["situacao"] == LOCKED)}
    failed = [s for s in stores if results[s]["situacao"] == FAILED]
    if failed:
        if len(failed) == 1 and results[failed[0]]["partes"]:   # one store: its error's parts, as a single run had
            md = {**results[failed[0]]["partes"], **md}
        raise Failure(description=f"{len(failed)} de {len(stores)} loja(s) falharam: " + "; ".join(
            f"{s}: {results[s]['erro']}" for s in failed), metadata=md)
    yield Output(None, metadata=md)


def build_tick_op(settings: Settings, direction: str):
    verb = VERB[direction]

    @op(name=OP_NAME[direction],
        description=f"Rodada de {verb}: sincroniza as lojas pedidas (todas, se vazio) ao mesmo tempo, até "
                    f"{settings.tick.workers} de uma vez e {settings.tick.origin_connections} contra a origem; "
                    "cada loja registra suas materializações e verificações na sua partição.")
    def _op(context: OpExecutionContext, config: RodadaConfig):
        with core_step(context):
            stores = stores_of(settings, config.lojas)
        outcomes: dict[str, StoreOutcome] = {}
        yield from sync_stores(context, settings, stores, direction, config.simular,
                               settings.tick.origin_connections, outcomes)
        yield from finish(settings, direction, stores, {s: as_result(outcomes[s]) for s in stores},
                          synced_keys(outcomes.values()), config.simular)

    return _op


def build_tick_jobs(settings: Settings) -> list:
    descriptions = {
        "enviar_dados": "Enviar: leva à origem os dados locais das lojas (vendas, itens, documentos fiscais…). "
                        "Uma execução por rodada; config lojas: [] = todas.",
        "receber_dados": "Receber: traz da origem os dados das lojas (produtos, preços, clientes…). "
                         "Uma execução por rodada; config lojas: [] = todas.",
    }
    from sinc_pipeline.defs.executors import tick_executor
    from sinc_pipeline.defs.tick_shards import build_sharded_graph
    jobs = []
    for name, direction in TICK_JOBS.items():
        body = build_sharded_graph(settings, direction) if settings.tick.sharded else build_tick_op(settings, direction)

        @job(name=name, description=descriptions[name], executor_def=tick_executor(settings),
             tags=job_tags(settings, name))
        def _job():
            body()

        jobs.append(_job)
    return jobs
