"""Store health in Dagster: the asset ``saude_lojas`` (group ``saude``), its job ``relatorio_saude``
and a schedule every ``health.minutes`` (on by default).

The sync facts are read from the instance by asset key and partition (store), so they hold
whether a run syncs one store or many (a tick run logging one materialization per partition):
the latest materialization per partition of every ``enviar_*``/``receber_*``, the latest
``origem_e_loja_conferem`` status per partition, the latest ``divergencias_estoque`` metadata.
The database facts come from ``health/probes.py`` and ``fiscal/report.py``, failed runs from the
failures store of ``alerta_falhas`` (``health/failures.py``); ``health/report.py`` makes the rows.
"""
import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
from dagster import (AssetCheckKey, AssetExecutionContext, AssetKey,
                     AssetRecordsFilter, DagsterEventType, DefaultScheduleStatus, Definitions, MaterializeResult,
                     MetadataValue, ScheduleDefinition, asset, define_asset_job, in_process_executor)

from sinc_pipeline.core.errors import SincError
from sinc_pipeline.defs.metadata import md_table
from sinc_pipeline.defs.sync_assets import CHECK, keys_for
from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.health.failures import latest_failure_by_store, read_failures
from sinc_pipeline.health.probes import last_snapshot_at, pending_changes, quarantined_by_store
from sinc_pipeline.health.report import StoreFacts, fiscal_by_store, health_frame, health_table
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.held_store import store_entries

GROUP, ASSET, JOB = "saude", "saude_lojas", "relatorio_saude"
DIVERGENCES = AssetKey("divergencias_estoque")
SHOWN = ["loja", "situacao", "atraso_envio_min", "atraso_recebimento_min", "alteracoes_pendentes", "linhas_retidas",
         "documentos_em_quarentena", "verificacoes_falhando", "idade_snapshot_h", "divergencias_estoque",
         "contingencia_atrasada", "lacunas_vencidas", "problemas"]


def latest_by_partition(instance, key: AssetKey) -> dict:
    """{partition: latest materialization record} of one asset."""
    ids = instance.get_latest_storage_id_by_partition(key, DagsterEventType.ASSET_MATERIALIZATION)
    if not ids:
        return {}
    recs = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, storage_ids=list(ids.values())),
                                           limit=len(ids)).records
    return {r.partition_key: r for r in recs}


def last_sync(instance, keys: list[AssetKey], stores: list[str]) -> dict[str, dt.datetime | None]:
    """Per store, the oldest of its tables' latest materializations (None if a table never synced)."""
    out: dict[str, dt.datetime | None] = {s: None for s in stores}
    if not keys:
        return out
    per_key = [latest_by_partition(instance, k) for k in keys]
    for s in stores:
        times = [latest[s].timestamp if s in latest else None for latest in per_key]
        if all(t is not None for t in times):
            out[s] = dt.datetime.fromtimestamp(min(times), dt.timezone.utc)
    return out


def failing_checks(instance, keys: list[AssetKey], stores: list[str]) -> dict[str, list[str]]:
    """Per store, the tables whose latest ``origem_e_loja_conferem`` evaluation did not pass."""
    out: dict[str, list[str]] = {s: [] for s in stores}
    if not keys:
        return out
    infos = instance.event_log_storage.get_asset_check_partition_info(
        [AssetCheckKey(k, CHECK) for k in keys], partition_keys=stores)
    for info in infos:
        if info.partition_key in out and info.latest_execution_status.value == "FAILED":
            out[info.partition_key].append(info.check_key.asset_key.to_user_string())
    return {s: sorted(v) for s, v in out.items()}


def divergences(instance, stores: list[str]) -> dict[str, int]:
    out = {}
    for s, rec in latest_by_partition(instance, DIVERGENCES).items():
        md = rec.asset_materialization.metadata if rec.asset_materialization else {}
        if s in stores and "divergencias" in md:
            out[s] = int(md["divergencias"].value)
    return out


def gather(settings: Settings, instance, now: dt.datetime) -> list[StoreFacts]:
    stores = [s.id for s in settings.stores]
    send_keys, recv_keys = keys_for(settings, "send"), keys_for(settings, "receive")
    sent, received = last_sync(instance, send_keys, stores), last_sync(instance, recv_keys, stores)
    checks, divs = failing_checks(instance, send_keys + recv_keys, stores), divergences(instance, stores)
    failures = latest_failure_by_store(read_failures(settings.dagster_home))
    fiscal, quarantined, shared_errors = {}, {}, []
    if settings.fiscal is not None:
        try:
            from sinc_pipeline.fiscal.report import build_report
            report = build_report(settings)
            fiscal = fiscal_by_store(report.gaps, report.pending)
            quarantined = quarantined_by_store(settings)
        except SincError as err:
            shared_errors.append(f"fiscal: {err}")
    facts = []
    for store in settings.stores:
        f = StoreFacts(store.id, sent[store.id], received[store.id], bool(send_keys), bool(recv_keys),
                       failing_checks=checks[store.id], divergences=divs.get(store.id),
                       quarantined=quarantined.get(store.id, 0) if settings.fiscal else None,
                       read_errors=list(shared_errors))
        for name, value in fiscal.get(store.id, {}).items():
            setattr(f, {"contingencia_pendente": "contingency_pending", "contingencia_atrasada": "contingency_late",
                        "lacunas_numeracao": "gaps", "lacunas_vencidas": "gaps_overdue"}[name], value)
        if store.id in failures:
            fail = failures[store.id]
            f.last_failure = f"{fail.job}: {fail.error}"
            f.last_failure_at = dt.datetime.fromisoformat(fail.at)
        for attr, probe in (("pending", lambda s=store: pending_changes(settings, s)),
                            ("held", lambda s=store: len(store_entries(settings, s.id))),
                            ("snapshot_at", lambda s=store: last_snapshot_at(settings, s.id))):
            try:
                setattr(f, attr, probe())
            except (SincError, OSError, ValueError) as err:
                f.read_errors.append(f"{attr}: {err}")
        facts.append(f)
    return facts


def write_health(settings: Settings, table, now: dt.datetime) -> Path:
    path = Path(settings.reports_root) / "saude_lojas" / f"{now:%Y-%m-%dT%H%M%S}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def _asset(settings: Settings):
    iv = settings.intervals

    @asset(name=ASSET, group_name=GROUP, kinds={"parquet"},
           description="Saúde de cada loja: último envio e recebimento com sucesso e atraso (minutos além do "
                       f"intervalo de {iv.send_minutes}/{iv.receive_minutes} min), alterações pendentes (modo "
                       "journal), linhas retidas, documentos em quarentena, verificações falhando, idade do último "
                       "snapshot, divergências de estoque, riscos fiscais (NFC-e em contingência além de "
                       f"{settings.fiscal.contingency_limit_hours if settings.fiscal else 24} h, lacunas de numeração "
                       "com prazo de inutilização) e a última falha de execução. Arquivo Parquet em "
                       f"`{settings.reports_root}/saude_lojas/`.")
    def saude_lojas(context: AssetExecutionContext) -> MaterializeResult:
        now = dt.datetime.now(dt.timezone.utc)
        frame = health_frame(gather(settings, context.instance, now), now, iv.send_minutes, iv.receive_minutes)
        path = write_health(settings, health_table(frame), now)
        counts = frame["situacao"].value_counts().to_dict()
        context.log.info(f"{len(frame)} loja(s): {counts.get('ok', 0)} ok, {counts.get('atencao', 0)} em atenção, "
                         f"{counts.get('critico', 0)} crítica(s)")
        rows = frame[SHOWN].astype(object).where(frame[SHOWN].notna(), None).to_dict("records")
        return MaterializeResult(metadata={
            "lojas": MetadataValue.int(len(frame)),
            "lojas_ok": MetadataValue.int(int(counts.get("ok", 0))),
            "lojas_em_atencao": MetadataValue.int(int(counts.get("atencao", 0))),
            "lojas_criticas": MetadataValue.int(int(counts.get("critico", 0))),
            "saude": md_table(rows, SHOWN, max_cell=200, empty="Nenhuma loja configurada."),
            "arquivo": MetadataValue.path(str(path))})

    return saude_lojas


def build(settings: Settings) -> Definitions:
    report = _asset(settings)
    job = define_asset_job(JOB, selection=[report], executor_def=in_process_executor, tags=job_tags(settings, JOB),
                           description="Relatório de saúde das lojas (saude_lojas).")
    schedule = ScheduleDefinition(name=f"{JOB}_periodico", job=job, cron_schedule="*/15 * * * *",
                                  default_status=DefaultScheduleStatus.RUNNING,
                                  description="Atualiza saude_lojas a cada 15 minutos.")
    return Definitions(assets=[report], jobs=[job], schedules=[schedule])
