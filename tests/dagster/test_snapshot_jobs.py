"""The Gerar Base de Dados jobs as users launch them: definitions, launchpad config, metadata in
the catalog, failures with pt-BR messages (the command line: cli/test_snapshot_jobs.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import pyarrow as pa
from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.defs.snapshot_assets import markdown_table
from sinc_pipeline.core.locks import store_lock
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.snapshots import list_snapshots, LocalStorage

from ..helpers import execute, rows, small_demo


@pytest.fixture
def demo(make_db, tmp_path):
    return small_demo(make_db, "sqlite", "sqlite", tmp_path)


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def op_fields(job) -> dict[str, dict]:
    out = {}
    for node in job.graph.node_dict.values():
        fields = node.definition.config_schema.config_type.fields
        out[node.name] = {name: f for name, f in fields.items()}
    return out


def test_names_and_launchpad_config(demo):
    defs = build_defs(demo)
    jobs = {j.name: j for j in defs.resolve_all_job_defs()}
    assert {"gerar_base_dados", "restaurar_base", "criar_base_loja"} <= set(jobs)
    graph = defs.resolve_asset_graph()
    node = graph.get(next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "base_dados_loja"))
    assert node.group_name == "gerar_base_dados"
    assert jobs["gerar_base_dados"].partitions_def.get_partition_keys() == ["loja_01", "loja_02"]
    assert jobs["criar_base_loja"].partitions_def.get_partition_keys() == ["loja_01", "loja_02"]
    assert jobs["restaurar_base"].partitions_def is None
    (gerar,) = op_fields(jobs["gerar_base_dados"]).values()
    assert set(gerar) == {"modo"} and not gerar["modo"].is_required
    (restaurar,) = op_fields(jobs["restaurar_base"]).values()
    assert set(restaurar) == {"loja", "snapshot", "destino", "substituir"}
    assert restaurar["snapshot"].default_value == "latest" and restaurar["substituir"].default_value is False
    assert restaurar["loja"].is_required and restaurar["destino"].is_required


def test_gerar_base_dados_reports_in_the_catalog(demo, instance):
    defs = build_defs(demo)
    first = run_job(defs, "gerar_base_dados", "loja_01", {}, instance)
    assert first.success, first.error
    md = first.assets["base_dados_loja"]
    assert md["tipo"] == "completa" and md["snapshot_pai"] == "—" and md["loja"] == "loja_01"
    assert Path(md["caminho"]).is_dir() and (Path(md["caminho"]) / "manifest.json").exists()
    assert md["caminho"].endswith(md["snapshot_id"])
    store = demo.store("loja_01").url
    assert md["linhas_produto"] == rows(store, "SELECT COUNT(*) FROM produto")[0][0]
    assert md["bytes_produto"] == (Path(md["caminho"]) / "produto.parquet").stat().st_size
    assert md["linhas_total"] == sum(v for k, v in md.items() if k.startswith("linhas_") and k != "linhas_total")
    assert "| produto |" in md["tabelas"] and md["duracao_s"] >= 0
    first_name = rows(store, "SELECT nome FROM clientes ORDER BY id LIMIT 1")[0][0]
    assert first_name in md["previa_clientes"] and md["previa_clientes"].count("\n| ") >= 2

    execute(store, "UPDATE clientes SET nome = 'Inês Brandão' WHERE id = 3")   # one of loja_01's (odd ids)
    second = run_job(defs, "gerar_base_dados", "loja_01", {}, instance)
    md2 = second.assets["base_dados_loja"]
    assert md2["tipo"] == "incremental" and md2["snapshot_pai"] == md["snapshot_id"]
    assert md2["linhas_clientes"] == 1 and md2["linhas_total"] == 1
    assert "Inês Brandão" in md2["previa_clientes"] and "upsert" in md2["previa_clientes"]
    third = run_job(defs, "gerar_base_dados", "loja_01", {"modo": "completa"}, instance)
    assert third.assets["base_dados_loja"]["tipo"] == "completa"
    assert len(list_snapshots(LocalStorage(demo.snapshots.root), "loja_01")) == 3


def test_gerar_base_dados_waits_for_the_store_lock(demo, instance):
    with store_lock(demo.dagster_home, "loja_01"):
        res = run_job(build_defs(demo), "gerar_base_dados", "loja_01", {}, instance)
    assert not res.success and "em andamento" in res.error
    assert list_snapshots(LocalStorage(demo.snapshots.root), "loja_01") == []


def test_restaurar_base_and_its_refusals(demo, instance, make_db):
    defs = build_defs(demo)
    assert run_job(defs, "gerar_base_dados", "loja_01", {}, instance).success
    target = make_db("sqlite")
    ok = run_job(defs, "restaurar_base", None, {"loja": "loja_01", "destino": target}, instance)
    assert ok.success, ok.error
    store = demo.store("loja_01").url
    assert rows(target, "SELECT COUNT(*) FROM vendas") == rows(store, "SELECT COUNT(*) FROM vendas")
    again = run_job(defs, "restaurar_base", None, {"loja": "loja_01", "destino": target}, instance)
    assert not again.success and "não está vazio" in again.error and "substituir" in again.error
    forced = run_job(defs, "restaurar_base", None, {"loja": "loja_01", "destino": target, "substituir": True},
                     instance)
    assert forced.success, forced.error
    unknown = run_job(defs, "restaurar_base", None, {"loja": "loja_99", "destino": target}, instance)
    assert not unknown.success and "loja_99" in unknown.error and "loja_01" in unknown.error
    missing = run_job(defs, "restaurar_base", None,
                      {"loja": "loja_01", "destino": target, "snapshot": "20000101T000000000000Z-completa"}, instance)
    assert not missing.success and "20000101T000000000000Z-completa" in missing.error


def test_restaurar_base_hides_the_password(demo, instance, monkeypatch):
    defs = build_defs(demo)
    assert run_job(defs, "gerar_base_dados", "loja_01", {}, instance).success
    monkeypatch.setenv("SENHA_TESTE_RESTAURAR", "s3gr3d0")
    res = run_job(defs, "restaurar_base", None,
                  {"loja": "loja_01", "destino": "postgresql://u:${SENHA_TESTE_RESTAURAR}@127.0.0.1:1/x"}, instance)
    assert not res.success and "inacessível" in res.error and "127.0.0.1:1" in res.error
    assert "s3gr3d0" not in res.error and "***" in res.error
    unset = run_job(defs, "restaurar_base", None,
                    {"loja": "loja_01", "destino": "postgresql://u:${NAO_DEFINIDA_X}@h/x"}, instance)
    assert not unset.success and "NAO_DEFINIDA_X" in unset.error


def test_criar_base_loja_then_forcar_atualizacao_finds_nothing(demo, instance, make_db):
    stores = [s if s.id != "loja_02" else s.model_copy(update={"url": make_db("sqlite")}) for s in demo.stores]
    st = demo.model_copy(update={"stores": stores})
    defs = build_defs(st)
    created = run_job(defs, "criar_base_loja", "loja_02", {}, instance)
    assert created.success, created.error
    sync = run_job(defs, "forcar_atualizacao", "loja_02", {}, instance)
    assert sync.success, sync.error
    assert len(sync.assets) == len(st.tables)
    assert all(a["inseridas"] == a["atualizadas"] == a["excluidas"] == 0 for a in sync.assets.values())
    refused = run_job(defs, "criar_base_loja", "loja_02", {}, instance)
    assert not refused.success and "já tem dados" in refused.error


def test_markdown_preview_escapes_and_shows_null():
    t = pa.table({"id": [1, 2], "nome": ["a|b", None], "foto": [b"\x01\x02", None]})
    md = markdown_table(t)
    assert md.splitlines()[0] == "| id | nome | foto |"
    assert "a\\|b" in md and "| 2 | NULL | NULL |" in md and "0102" in md

