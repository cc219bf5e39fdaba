"""Two-way tables (``direction: both``) in Dagster.

* multi-asset ``sincronizar_bidirecional`` (group ``bidirecional``, partitioned by store): one
  asset ``sincronizar_<tabela>`` per two-way table (``twoway/sync.py``); config ``simular``.
  Its check ``origem_e_loja_conferem`` passes when a new sync would write nothing, and warns
  while a conflict of the table waits (``manual``) for ``resolver_conflitos``.
* asset ``conflitos_sincronizacao`` (group ``bidirecional``): the conflicts of every store, a
  Markdown table per store and table. Job ``relatorio_conflitos`` refreshes it; job
  ``resolver_conflitos`` (launchpad: ``ids``, and ``lado: origem|loja`` or ``valor`` as JSON)
  settles conflicts first.
"""

import json

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetSpec, Config,
                     Definitions, MaterializeResult, MetadataValue, asset, define_asset_job, in_process_executor,
                     multi_asset)
from pydantic import Field

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.markdown import markdown_table
from sinc_pipeline.defs.metadata import KIND_TAG, SYNC_KIND, TABLE_TAG, report_metadata, result_metadata
from sinc_pipeline.defs.partitions import stores_partitions
from sinc_pipeline.defs.preview import SimularConfig, preview_metadata
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.sync_assets import CHECK, table_key
from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings
from sinc_pipeline.twoway.resolve import resolve_conflicts
from sinc_pipeline.twoway.sync import plan_twoway, sync_twoway
from sinc_pipeline.twoway.tables import conflict_rows

GROUP, REPORT = "bidirecional", "conflitos_sincronizacao"
COLUMNS = ["id", "chave", "tipo", "regra", "resultado", "status", "criado_em", "versao_origem", "versao_loja"]


def _sync_asset(settings: Settings, tables):
    specs = [AssetSpec(table_key(t), group_name=GROUP, kinds={"sql"},
                       tags={"sinc/direcao": "both", KIND_TAG: SYNC_KIND, TABLE_TAG: t.name},
                       description=f"Sincroniza a tabela `{t.name}` nos dois sentidos (origem ↔ loja), comparando "
                                   f"com a base da última sincronização. Conflitos: `{t.conflicts}`.")
             for t in tables]
    checks = [AssetCheckSpec(CHECK, asset=table_key(t), description="Uma nova sincronização não gravaria nada; avisa "
                             "(WARN) enquanto houver conflito pendente (regra manual).") for t in tables]

    @multi_asset(name="sincronizar_bidirecional", specs=specs, check_specs=checks, can_subset=False,
                 partitions_def=stores_partitions(settings), required_resource_keys={"trava_loja"},
                 description="Sincronização bidirecional: " + ", ".join(t.name for t in tables))
    def _sync(context: AssetExecutionContext, config: SimularConfig):
        store_id = context.partition_key
        with core_step(context):
            for t in tables:
                r = sync_twoway(settings, store_id, t, run_id=context.run_id, simulate=config.simular)
                yield from twoway_results(settings, store_id, t, r, context.run_id, config.simular)

    return _sync


def twoway_results(settings: Settings, store_id: str, t, r, run_id: str, simulate: bool) -> list:
    """A two-way table's materialization and check after ``sync_twoway`` (the multi-asset and
    the ``enviar_dados`` / ``receber_dados`` ticks record the same)."""
    md = {**result_metadata(r), **report_metadata(r.extra)}
    if simulate:
        md.update(preview_metadata(settings, run_id, r))
        from sinc_pipeline.defs.preview import preview_check
        return [MaterializeResult(asset_key=table_key(t), metadata=md), preview_check(table_key(t), CHECK)]
    return [MaterializeResult(asset_key=table_key(t), metadata=md), _check(settings, store_id, t)]


def _check(settings: Settings, store_id: str, t) -> AssetCheckResult:
    p = plan_twoway(settings, store_id, t)
    m = p.merge
    pending = [c for c in _conflicts(settings) if c["loja"] == store_id and c["tabela"] == t.name
               and c["status"] == "pendente"]
    todo = sum(x.inserts.num_rows + x.updates.num_rows + x.deletes.num_rows for x in (m.to_store, m.to_origin))
    md = {"a_gravar": MetadataValue.int(todo), "conflitos_pendentes": MetadataValue.int(len(pending))}
    if todo:
        return AssetCheckResult(asset_key=table_key(t), check_name=CHECK, passed=False, metadata=md,
                                description=f"{todo} linha(s) ainda diferem entre origem e loja.")
    if pending:
        return AssetCheckResult(asset_key=table_key(t), check_name=CHECK, passed=False, metadata=md,
                                severity=AssetCheckSeverity.WARN,
                                description=f"{len(pending)} conflito(s) aguardando resolver_conflitos (ids "
                                            f"{', '.join(str(c['id']) for c in pending[:10])}).")
    return AssetCheckResult(asset_key=table_key(t), check_name=CHECK, passed=True, metadata=md)


def _conflicts(settings: Settings) -> list[dict]:
    with connect(settings.origin.url, "de origem") as oc:
        return conflict_rows(oc)


class ResolverConfig(Config):
    ids: list[int] = Field(default_factory=list, description="Ids dos conflitos (asset conflitos_sincronizacao).")
    lado: str | None = Field(None, description="O lado a manter: origem ou loja.")
    valor: str | None = Field(None, description="Ou a linha mesclada, em JSON: {\"nome\": \"…\", \"fone\": \"…\"}.")


def _report(settings: Settings):
    @asset(name=REPORT, group_name=GROUP, kinds={"sql"},
           description="Conflitos das tabelas bidirecionais (tabela conflitos_sincronizacao na origem), por loja e "
                       "tabela: chave, tipo, regra aplicada, resultado, status e as duas versões.")
    def conflitos_sincronizacao(context: AssetExecutionContext, config: ResolverConfig) -> MaterializeResult:
        with core_step(context):
            if config.ids:
                value = json.loads(config.valor) if config.valor else None
                done = resolve_conflicts(settings, config.ids, config.lado, value, context.run_id)
                context.log.info(f"{len(done)} conflito(s) resolvido(s)")
            rows = _conflicts(settings)
        md: dict = {"conflitos": MetadataValue.int(len(rows)),
                    "pendentes": MetadataValue.int(sum(1 for r in rows if r["status"] == "pendente"))}
        for store in settings.stores:
            for t in [t for t in settings.tables if t.direction == "both"]:
                mine = [r for r in rows if r["loja"] == store.id and r["tabela"] == t.name]
                md[f"{store.id}_{t.name}"] = MetadataValue.md(
                    markdown_table(mine[-50:], COLUMNS, max_cell=80) if mine else "Nenhum conflito.")
        return MaterializeResult(metadata=md)

    return conflitos_sincronizacao


def build(settings: Settings) -> Definitions:
    tables = [t for t in settings.tables if t.direction == "both"]
    if not tables:
        return Definitions()
    report = _report(settings)
    jobs = [define_asset_job(name, selection=[report], executor_def=in_process_executor,
                             tags=job_tags(settings, name), description=text)
            for name, text in (("relatorio_conflitos", "Relatório dos conflitos das tabelas bidirecionais."),
                               ("resolver_conflitos", "Resolve conflitos pendentes: ids e o lado a manter (origem ou "
                                                      "loja) ou a linha mesclada (valor, JSON)."))]
    return Definitions(assets=[_sync_asset(settings, tables), report], jobs=jobs)
