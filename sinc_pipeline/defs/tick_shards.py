"""A tick split into shards (``tick.shards`` > 1, or ``tick.executor`` other than in_process):
still ONE run, now a graph of three steps.

* ``rodada_envio`` / ``rodada_recebimento`` (the same op name and config as the one-op job:
  ``lojas``, ``simular``) splits the stores asked for into shards (``core/shards.py``: a store's
  shard follows its place in the config) and emits one dynamic output per non-empty shard;
* ``lote_envio`` / ``lote_recebimento``, mapped once per shard, syncs its stores with the same
  pool and the same ``sync_store`` as the one-op job (``defs/tick.py``), logging each store's
  materializations and checks on its partition as it ends; its output metadata carry ``lojas``
  (its stores' outcomes) and ``processo`` (host:pid of the process that ran it);
* ``resultado_envio`` / ``resultado_recebimento`` gathers the shards' outcomes, logs the
  freshness evaluations once, and fails naming the failed stores, with ``lojas`` for all of them.

With ``tick.executor: celery`` or ``multiprocess`` the shards run at the same time, each with
its part of ``tick.origin_connections``; in process they run one after the other.
"""

import os
import socket

from dagster import DynamicOut, DynamicOutput, In, MetadataValue, OpExecutionContext, Out, Output, op

from sinc_pipeline.core import shards
from sinc_pipeline.defs.executors import runs_in_process, step_tags
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.tick import (FAILED, OK, OP_NAME, RESULT_KEY, VERB, RodadaConfig, StoreOutcome, as_result, finish,
                                     stores_of, summary_of, sync_stores, synced_keys)
from sinc_pipeline.settings import Settings

SHARD_OP = {"send": "lote_envio", "receive": "lote_recebimento"}
GATHER_OP = {"send": "resultado_envio", "receive": "resultado_recebimento"}
PROCESS_KEY = "processo"      # shard output metadata: host:pid that ran the shard


def build_sharded_graph(settings: Settings, direction: str):
    verb, tags, n = VERB[direction], step_tags(settings), settings.tick.shards
    per_shard = settings.tick.origin_connections if runs_in_process(settings) else shards.origin_share(
        settings.tick.origin_connections, n)
    config_order = [s.id for s in settings.stores]

    @op(name=OP_NAME[direction], tags=tags,
        out={"lotes": DynamicOut(dict), "pedido": Out(dict)},
        description=f"Rodada de {verb}: divide as lojas pedidas (todas, se vazio) em até {n} lote(s); cada "
                    "loja fica sempre no mesmo lote (a sua posição na configuração).")
    def _split(context: OpExecutionContext, config: RodadaConfig):
        with core_step(context):
            stores = stores_of(settings, config.lojas)
        parts = shards.split(config_order, stores, n)
        context.log.info(f"{len(stores)} loja(s) em {len(parts)} lote(s): " + "; ".join(
            f"lote {i}: {', '.join(p)}" for i, p in parts))
        yield Output({"lojas": stores, "simular": config.simular}, output_name="pedido")
        for i, part in parts:
            yield DynamicOutput({"lojas": part, "simular": config.simular}, mapping_key=f"lote_{i}",
                                output_name="lotes")

    @op(name=SHARD_OP[direction], tags=tags, ins={"lote": In(dict)}, out=Out(dict),
        description=f"Um lote da rodada de {verb}: sincroniza as suas lojas ao mesmo tempo, até "
                    f"{settings.tick.workers} de uma vez e {per_shard} contra a origem; cada loja registra "
                    "suas materializações e verificações na sua partição.")
    def _shard(context: OpExecutionContext, lote: dict):
        stores = lote["lojas"]
        outcomes: dict[str, StoreOutcome] = {}
        yield from sync_stores(context, settings, stores, direction, lote["simular"], per_shard, outcomes)
        results = {s: as_result(outcomes[s]) for s in stores}
        yield Output({"resultados": results, "sincronizadas": synced_keys(outcomes.values())}, metadata={
            RESULT_KEY: MetadataValue.json(summary_of(results)),
            "lojas_ok": sum(r["situacao"] == OK for r in results.values()),
            PROCESS_KEY: f"{socket.gethostname()}:{os.getpid()}"})

    @op(name=GATHER_OP[direction], tags=tags, ins={"pedido": In(dict), "lotes": In(list)},
        description=f"Fim da rodada de {verb}: junta os lotes; falha nomeando as lojas que falharam.")
    def _gather(context: OpExecutionContext, pedido: dict, lotes: list):
        results: dict[str, dict] = {}
        synced: set[str] = set()
        for lote in lotes:
            results.update(lote["resultados"])
            synced.update(lote["sincronizadas"])
        missing = [s for s in pedido["lojas"] if s not in results]
        for s in missing:   # a shard that never reported (should not happen: its step would have failed)
            results[s] = {"situacao": FAILED, "erro": "O lote desta loja não informou o resultado.", "partes": None}
        yield from finish(settings, direction, pedido["lojas"], results, sorted(synced), pedido["simular"])

    def _body():   # composed inside the job's body: the ops stay top-level (the run config is unchanged)
        lotes, pedido = _split()
        _gather(pedido, lotes.map(_shard).collect())

    return _body
