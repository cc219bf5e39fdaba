"""Asset factory: one multi-asset per sync unit (a group of tables, or a lone table).

Receive assets live in group ``recebimento``, send assets in ``envio``. Each unit depends on
the previous unit of its direction (config order: parents first) and every receive unit on
the send units, so ``forcar_atualizacao`` sends first, then receives. Each materialization
reports rows compared/inserted/updated/deleted, duration and cursor; an asset check per table
confirms both sides agree for that store (row count and content checksum).
"""

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetDep, AssetExecutionContext, AssetKey,
                     AssetSpec, MaterializeResult, multi_asset)

from sinc_pipeline.settings import Settings, TableConfig
from sinc_pipeline.core.db import redact
from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import verify_table
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.metadata import (KIND_TAG, SYNC_KIND, TABLE_TAG, agreement_metadata, held_metadata,
                                         report_metadata, result_metadata)
from sinc_pipeline.defs.partitions import stores_partitions

VERB = {"receive": "receber", "send": "enviar"}
GROUP = {"receive": "recebimento", "send": "envio"}
CHECK = "origem_e_loja_conferem"


def table_key(t: TableConfig) -> AssetKey:
    return AssetKey(f"{VERB[t.direction]}_{t.name}")


def _description(t: TableConfig, settings: Settings) -> str:
    arrow = "origem → loja" if t.direction == "receive" else "loja → origem"
    parts = [f"Sincroniza a tabela `{t.name}` ({arrow}"
             + (f", na loja `{t.target_name}`" if t.store_table else "") + ")."]
    parts.append(f"Origem: `{redact(settings.origin.url)}`. Chave: {', '.join(t.key)}.")
    if t.scoped:
        parts.append("Somente as linhas da loja (filtro da loja).")
    parts.append("Modo cursor por `%s`." % t.cursor if t.cursor else "Modo comparação completa por chave.")
    parts.append(f"Exclusões: {'propagadas' if t.delete_policy == 'propagate' else 'ignoradas'}.")
    if t.group:
        parts.append(f"Grupo `{t.group}`: aplicado junto com as outras tabelas do grupo, numa só transação.")
    return " ".join(parts)


def build_unit_asset(settings: Settings, unit: list[TableConfig], deps: list[AssetKey]):
    direction = unit[0].direction
    name = f"{VERB[direction]}_" + (f"grupo_{unit[0].group}" if unit[0].group else unit[0].name)
    specs = [AssetSpec(table_key(t), group_name=GROUP[direction], description=_description(t, settings),
                       deps=[AssetDep(d) for d in deps], kinds={"sql"},
                       tags={"sinc/direcao": direction, KIND_TAG: SYNC_KIND, TABLE_TAG: t.name})
             for t in unit]
    checks = [AssetCheckSpec(CHECK, asset=table_key(t),
                             description="Origem e loja conferem para esta loja: contagem de linhas e checksum "
                                         "do conteúdo das colunas sincronizadas. Enquanto uma linha da tabela "
                                         "estiver retida (sinc_erros), falha com severidade WARN nomeando-a.")
              for t in unit]

    @multi_asset(name=name, specs=specs, check_specs=checks, partitions_def=stores_partitions(settings),
                 can_subset=False, required_resource_keys={"trava_loja"},
                 description=f"Unidade de sincronização: {', '.join(t.name for t in unit)}.")
    def _sync(context: AssetExecutionContext):
        store_id = context.partition_key
        with core_step(context):
            results = sync_unit(settings, store_id, unit, run_id=context.run_id)
        for t, r in zip(unit, results):
            context.log.info(f"{r.table} ({store_id}): {r.inserted} inseridas, {r.updated} atualizadas, "
                             f"{r.deleted} excluídas de {r.compared} comparadas")
            yield MaterializeResult(asset_key=table_key(t),
                                    metadata={**result_metadata(r), **report_metadata(r.extra)})
        for t in unit:
            with core_step(context):
                a = verify_table(settings, store_id, t)
            yield check_result(t, a)

    return _sync


def check_result(t: TableConfig, a) -> AssetCheckResult:
    """The check's result: passed; or WARN while the only differences are held rows (named); or ERROR."""
    md = agreement_metadata(a)
    if a.held:
        md.update(held_metadata(a.held))
    if a.passed and a.future_rows:
        md["cursor_no_futuro"] = a.future_rows
        return AssetCheckResult(asset_key=table_key(t), check_name=CHECK, passed=False,
                                severity=AssetCheckSeverity.WARN, metadata=md,
                                description=f"{a.future_rows} linha(s) da tabela {t.name!r} com {t.cursor!r} no "
                                            "futuro (relógio de quem gravou adiantado): sincronizadas, mas a posição "
                                            "do cursor não avança até elas. Corrija o relógio ou o valor.")
    if a.passed or not a.only_held:
        return AssetCheckResult(asset_key=table_key(t), check_name=CHECK, passed=a.passed, metadata=md)
    keys = "; ".join(e["chave"] for e in a.held[:5]) + (f" e mais {len(a.held) - 5}" if len(a.held) > 5 else "")
    return AssetCheckResult(asset_key=table_key(t), check_name=CHECK, passed=False,
                            severity=AssetCheckSeverity.WARN, metadata=md,
                            description=f"{len(a.held)} linha(s) da tabela {t.name!r} retida(s) em sinc_erros "
                                        f"(chave {keys}); o resto da tabela confere.")


def build_sync_assets(settings: Settings) -> list:
    """All units in one chain: send units first, then receive units, each in config order."""
    assets, previous = [], []
    for direction in ("send", "receive"):
        for unit in settings.units(direction):
            assets.append(build_unit_asset(settings, unit, previous))
            previous = [table_key(t) for t in unit]
    return assets


def keys_for(settings: Settings, direction: str | None = None) -> list[AssetKey]:
    return [table_key(t) for t in settings.tables if direction in (None, t.direction)]
