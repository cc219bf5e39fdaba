"""Gerar Base de Dados in Dagster: the snapshot asset and the restore and new-store jobs.

* asset ``base_dados_loja`` (group ``gerar_base_dados``, one partition per store), materialized
  by job ``gerar_base_dados`` (config ``modo``: completa | incremental, default incremental when
  a full snapshot exists): a Parquet snapshot of the store's database; the catalog shows its
  path, kind, id, per-table rows and sizes, duration and a preview of each table.
* job ``restaurar_base`` (config ``loja``, ``snapshot``, ``destino``, ``substituir``): the store's
  database rebuilt at a snapshot in any supported engine (also a migration).
* job ``criar_base_loja`` (one partition per store): a new store's database created from the
  origin, ready for ``forcar_atualizacao``.

The logic lives in ``snapshots/dump.py``, ``snapshots/restore.py`` and ``provisioning/``; this module adapts it.
"""
from enum import Enum
from typing import Optional

import pyarrow as pa
from dagster import (AssetExecutionContext, Config, Definitions, MaterializeResult, MetadataValue, Nothing,
                     OpExecutionContext, Out, Output, asset, define_asset_job, in_process_executor, job, op)
from pydantic import Field

from sinc_pipeline.defs.progress import log_progress
from sinc_pipeline.provisioning.store_database import BootstrapResult, create_store_database
from sinc_pipeline.defs.tags import job_tags
from sinc_pipeline.settings import Settings, expand_env
from sinc_pipeline.snapshots.dump import DumpResult, dump_store
from sinc_pipeline.core.errors import SincError
from sinc_pipeline.core.markdown import markdown_table as core_markdown_table
from sinc_pipeline.core.locks import store_lock
from sinc_pipeline.snapshots.restore import RestoreResult, restore
from sinc_pipeline.snapshots import INCREMENTAL, LocalStorage
from sinc_pipeline.defs.steps import core_step
from sinc_pipeline.defs.partitions import stores_partitions

ASSET = "base_dados_loja"
GROUP = "gerar_base_dados"
PREVIEW_CELL = 60


class Modo(Enum):
    completa = "completa"
    incremental = "incremental"


class GerarBaseConfig(Config):
    modo: Optional[Modo] = Field(
        None, description="completa: todas as linhas de todas as tabelas. incremental: só o que mudou desde o "
                          "snapshot anterior. Vazio: incremental quando já existe um snapshot completo da loja, "
                          "senão completa.")


class RestaurarBaseConfig(Config):
    loja: str = Field(description="Id da loja cujo snapshot será restaurado, ex.: loja_01.")
    snapshot: str = Field("latest", description="Id do snapshot (ex.: 20261128T101500123456Z-incremental) ou "
                                                "latest para o mais recente.")
    destino: str = Field(description="URL SQLAlchemy do banco de destino, ex.: sqlite:///data/loja_01.db ou "
                                     "postgresql://usuario@host/banco. Para a senha use ${VARIAVEL} (lida do "
                                     "ambiente), nunca a senha em claro.")
    substituir: bool = Field(False, description="false: recusa um destino que já tenha linhas nas tabelas do "
                                                "snapshot. true: apaga essas tabelas e restaura.")


# ----------------------------------------------------------------------------------------------
# Presentation (pure)
# ----------------------------------------------------------------------------------------------
def markdown_table(table: pa.Table) -> str:
    """A Markdown table of an Arrow table's rows (values shown as they are, NULL as NULL, long cells cut)."""
    return core_markdown_table(table.to_pylist(), table.column_names, null="NULL", max_cell=PREVIEW_CELL)


def _size(n: int) -> str:
    return f"{n / 1_048_576:.2f} MB" if n >= 1_048_576 else f"{n / 1024:.1f} KB"


def dump_metadata(r: DumpResult) -> dict:
    m = r.manifest
    rows = sum(t.rows for t in m.tables.values())
    size = sum(t.bytes for t in m.tables.values())
    summary = pa.table({"tabela": list(m.tables), "linhas": [t.rows for t in m.tables.values()],
                        "tamanho": [_size(t.bytes) for t in m.tables.values()],
                        "sha256": [t.sha256[:16] + "…" for t in m.tables.values()]})
    md = {
        "loja": m.store,
        "caminho": MetadataValue.path(r.path),
        "tipo": m.kind,
        "snapshot_id": m.id,
        "snapshot_pai": m.parent_id or "—",
        "criado_em": m.created_at,
        "banco_da_loja": m.source_engine,
        "linhas_total": MetadataValue.int(rows),
        "tamanho_mb": MetadataValue.float(round(size / 1_048_576, 3)),
        "duracao_s": MetadataValue.float(float(r.duration_s)),
        "tabelas": MetadataValue.md(markdown_table(summary)),
    }
    for name, t in m.tables.items():
        md[f"linhas_{name}"] = MetadataValue.int(t.rows)
        md[f"bytes_{name}"] = MetadataValue.int(t.bytes)
    for name in m.tables:
        preview = r.previews.get(name)
        text = markdown_table(preview) if preview is not None else "_(sem linhas)_"
        what = "primeiras mudanças" if m.kind == INCREMENTAL else "primeiras linhas"
        md[f"previa_{name}"] = MetadataValue.md(f"**{name}** — {what}\n\n{text}")
    if r.deleted:
        md["retencao_apagados"] = MetadataValue.text(", ".join(r.deleted))
    if r.notes:
        md["avisos"] = MetadataValue.text("\n".join(r.notes))
    return md


def restore_metadata(r: RestoreResult) -> dict:
    md = {"snapshot_id": r.snapshot_id, "cadeia": " → ".join(r.chain), "destino": r.target,
          "linhas_total": MetadataValue.int(sum(r.tables.values())), "tabelas_criadas": ", ".join(r.created) or "—",
          "tabelas_substituidas": ", ".join(r.replaced) or "—", "cursores_restaurados": MetadataValue.int(r.cursors),
          "duracao_s": MetadataValue.float(float(r.duration_s))}
    md.update({f"linhas_{t}": MetadataValue.int(n) for t, n in r.tables.items()})
    return md


def bootstrap_metadata(r: BootstrapResult) -> dict:
    md = {"loja": r.store, "banco_da_loja": r.target, "linhas_total": MetadataValue.int(sum(r.tables.values())),
          "tabelas_criadas": ", ".join(r.created) or "—", "duracao_s": MetadataValue.float(float(r.duration_s)),
          "cursores": MetadataValue.md(markdown_table(pa.table({"tabela": list(r.cursors),
                                                                "cursor": list(r.cursors.values())})))}
    md.update({f"linhas_{t}": MetadataValue.int(n) for t, n in r.tables.items()})
    return md


# ----------------------------------------------------------------------------------------------
# Definitions
# ----------------------------------------------------------------------------------------------
def build_snapshot_asset(settings: Settings):
    @asset(name=ASSET, group_name=GROUP, partitions_def=stores_partitions(settings), kinds={"parquet"},
           required_resource_keys={"trava_loja"},
           description="Gerar Base de Dados: cópia consistente das tabelas configuradas do banco da loja em "
                       f"Parquet, em `{settings.snapshots.root}/<loja>/<snapshot>/` com `manifest.json`. Completa "
                       "ou incremental (só o que mudou); mantém "
                       f"{settings.snapshots.keep_full} snapshots completos com seus incrementais.")
    def base_dados_loja(context: AssetExecutionContext, config: GerarBaseConfig) -> MaterializeResult:
        modo = config.modo.value if config.modo else None
        with core_step(context):
            result = dump_store(settings, context.partition_key, modo, run_id=context.run_id,
                                progress=log_progress(context, context.partition_key))
        for note in result.notes:
            context.log.warning(note)
        m = result.manifest
        context.log.info(f"Snapshot {m.kind} {m.id} da loja {m.store}: "
                         f"{sum(t.rows for t in m.tables.values())} linhas em {result.duration_s} s")
        return MaterializeResult(metadata=dump_metadata(result))

    return base_dados_loja


def build_restore_job(settings: Settings):
    @op(name="restaurar_snapshot", out=Out(Nothing, description="Resumo da restauração (metadados)."),
        description="Reconstrói o banco da loja no snapshot escolhido, em qualquer banco suportado.")
    def restaurar_base_op(context: OpExecutionContext, config: RestaurarBaseConfig):
        problems: list[str] = []
        destino = expand_env(config.destino, "destino", problems)
        with core_step(context):
            if problems:
                raise SincError("; ".join(problems))
            store = settings.store(config.loja)
            with store_lock(settings.dagster_home, store.id):
                result = restore(LocalStorage(settings.snapshots.root), store.id, config.snapshot, destino,
                                 replace=config.substituir, progress=log_progress(context, store.id))
        context.log.info(f"Loja {config.loja} restaurada no snapshot {result.snapshot_id} em {result.target}: "
                         f"{sum(result.tables.values())} linhas")
        return Output(None, metadata=restore_metadata(result))

    @job(name="restaurar_base", executor_def=in_process_executor, tags=job_tags(settings, "restaurar_base"),
         description="Restaurar Base: o banco da loja reconstruído num snapshot (id ou latest), em qualquer banco "
                     "suportado (SQLite → PostgreSQL é uma migração). Verifica a cadeia antes de gravar e as "
                     "contagens e checksums depois.")
    def restaurar_base():
        restaurar_base_op()

    return restaurar_base


def build_bootstrap_job(settings: Settings):
    @op(name="criar_banco_da_loja", required_resource_keys={"trava_loja"},
        out=Out(Nothing, description="Resumo da criação (metadados)."),
        description="Cria o banco da loja a partir da origem.")
    def criar_base_loja_op(context: OpExecutionContext):
        with core_step(context):
            result = create_store_database(settings, context.partition_key, run_id=context.run_id,
                                           progress=log_progress(context, context.partition_key))
        context.log.info(f"Banco da loja {result.store} criado em {result.target}: "
                         f"{sum(result.tables.values())} linhas em {len(result.tables)} tabelas")
        return Output(None, metadata=bootstrap_metadata(result))

    @job(name="criar_base_loja", partitions_def=stores_partitions(settings), executor_def=in_process_executor,
         tags=job_tags(settings, "criar_base_loja"),
         description="Criar Base da Loja: o banco de uma loja nova criado a partir da origem (tabelas "
                     "configuradas, só as linhas da loja), pronto para que o próximo forcar_atualizacao não "
                     "encontre nada a fazer. Recusa um banco que já tenha dados.")
    def criar_base_loja():
        criar_base_loja_op()

    return criar_base_loja


def build(settings: Settings) -> Definitions:
    snapshot = build_snapshot_asset(settings)
    gerar = define_asset_job(
        "gerar_base_dados", selection=[snapshot], partitions_def=stores_partitions(settings),
        executor_def=in_process_executor, tags=job_tags(settings, "gerar_base_dados"),
        description="Gerar Base de Dados: snapshot completo ou incremental (config modo) do banco da loja em "
                    "Parquet, para backup, análise, restauração e migração.")
    return Definitions(assets=[snapshot], jobs=[gerar, build_restore_job(settings), build_bootstrap_job(settings)])
