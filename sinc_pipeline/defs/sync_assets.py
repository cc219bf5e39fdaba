"""Asset factory: one multi-asset per direction, one asset per table (``receber_<tabela>``,
``enviar_<tabela>``).

Receive assets live in group ``recebimento``, send assets in ``envio``. The units (tables
applied together in one transaction) are planned at run time from the foreign keys (see
``build_direction_asset``). Every receive asset depends on the send assets, so
``forcar_atualizacao`` sends first, then receives. Each materialization
reports rows compared/inserted/updated/deleted, duration and cursor; an asset check per table
confirms both sides agree for that store (row count and content checksum).
"""

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetDep, AssetExecutionContext, AssetKey,
                     AssetSpec, MaterializeResult, multi_asset)

from sinc_pipeline.settings import Settings, TableConfig
from sinc_pipeline.core.db import redact
from sinc_pipeline.core.errors import SincError
from sinc_pipeline.sync.direction import run_units
from sinc_pipeline.sync.verify import verify_table
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.metadata import (KIND_TAG, SYNC_KIND, TABLE_TAG, agreement_metadata, held_metadata,
                                         report_metadata, result_metadata)
from sinc_pipeline.defs.partitions import stores_partitions
from sinc_pipeline.defs.preview import SimularConfig, preview_check, preview_metadata

VERB = {"receive": "receber", "send": "enviar", "both": "sincronizar"}   # both: defs/twoway_assets.py
GROUP = {"receive": "recebimento", "send": "envio", "both": "bidirecional"}
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


def build_direction_asset(settings: Settings, direction: str, deps: list[AssetKey]):
    """One multi-asset for all the tables of ``direction``: which tables go together (one
    transaction) and in which order is planned at run time from the foreign keys reflected on both
    sides (``sync/direction.py``), so the definitions load from the config alone. A unit that fails
    does not stop the units after it (no foreign key links two units); the step fails at the end,
    naming every failed unit, and the tables applied before keep their materializations."""
    tables = [t for t in settings.tables if t.direction == direction]
    specs = [AssetSpec(table_key(t), group_name=GROUP[direction], description=_description(t, settings),
                       deps=[AssetDep(d) for d in deps], kinds={"sql"},
                       tags={"sinc/direcao": direction, KIND_TAG: SYNC_KIND, TABLE_TAG: t.name})
             for t in tables]
    checks = [AssetCheckSpec(CHECK, asset=table_key(t),
                             description="Origem e loja conferem para esta loja: as linhas gravadas nesta execução "
                                         "relidas dos dois lados e comparadas, mais contagem de linhas e agregados "
                                         "por faixa de chave calculados no banco. Enquanto uma linha da tabela "
                                         "estiver retida (sinc_erros), falha com severidade WARN nomeando-a. Uma "
                                         "falha marca a tabela para comparação completa (reparo) na próxima "
                                         "sincronização; a conferência completa diária é o job conferir_lojas.")
              for t in tables]

    @multi_asset(name=f"sincronizar_{GROUP[direction]}", specs=specs, check_specs=checks,
                 partitions_def=stores_partitions(settings), can_subset=False, required_resource_keys={"trava_loja"},
                 description=f"Sincronização ({GROUP[direction]}): {', '.join(t.name for t in tables)}. As tabelas "
                             "ligadas por chave estrangeira são gravadas juntas, numa só transação, pais antes "
                             "dos filhos.")
    def _sync(context: AssetExecutionContext, config: SimularConfig):
        store_id = context.partition_key
        failed = []
        with core_step(context):
            units = run_units(settings, store_id, direction, run_id=context.run_id, simulate=config.simular)
            for unit, out in units:
                if isinstance(out, SincError):
                    context.log.error(f"{', '.join(t.name for t in unit)} ({store_id}): {out}")
                    failed.append(out)
                    continue
                if config.simular:   # the preview: counts, sample, Parquet (defs/preview.py); no check
                    for t, r in zip(unit, out):
                        yield MaterializeResult(asset_key=table_key(t), metadata={
                            **result_metadata(r), **preview_metadata(settings, context.run_id, r)})
                        yield preview_check(table_key(t), CHECK)
                    continue
                yield from _report(context, settings, store_id, unit, out)
            if failed:
                raise failed[0] if len(failed) == 1 else SincError(
                    f"{len(failed)} unidades de sincronização falharam:\n" + "\n".join(f"  - {e}" for e in failed))

    return _sync


def _report(context: AssetExecutionContext, settings: Settings, store_id: str, unit: list[TableConfig], results):
    yield from report_events(context.log.info, settings, store_id, unit, results)


def report_events(log, settings: Settings, store_id: str, unit: list[TableConfig], results):
    """What a unit's run shows in the UI, shared by the asset and the tick op (``defs/tick.py``):
    one ``MaterializeResult`` per table, then its check (the rows written, re-read on both sides)."""
    for t, r in zip(unit, results):
        log(f"{r.table} ({store_id}): {r.inserted} inseridas, {r.updated} atualizadas, "
                         f"{r.deleted} excluídas de {r.compared} comparadas")
        yield MaterializeResult(asset_key=table_key(t), metadata={**result_metadata(r), **report_metadata(r.extra)})
    for t, r in zip(unit, results):   # the rows this run wrote, plus aggregates (sync/verify.py)
        yield check_result(t, verify_table(settings, store_id, t, r.written, mark=True, plan=r.plan))


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
    """One multi-asset per direction; every receive table depends on every send table, so
    ``forcar_atualizacao`` sends first, then receives."""
    assets, previous = [], []
    for direction in ("send", "receive"):
        if any(t.direction == direction for t in settings.tables):
            assets.append(build_direction_asset(settings, direction, previous))
            previous = keys_for(settings, direction)
    return assets


def keys_for(settings: Settings, direction: str | None = None) -> list[AssetKey]:
    return [table_key(t) for t in settings.tables if direction in (None, t.direction)]
