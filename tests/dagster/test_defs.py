"""The definitions load from settings and name what users expect; jobs run end to end."""
from __future__ import annotations

import datetime as dt

import pytest
from dagster import (DagsterInstance, DagsterRun, DagsterRunStatus, DefaultScheduleStatus, build_schedule_context, instance_for_test)

from sinc_pipeline import build_defs
from sinc_pipeline.defs.schedules import cron_for, is_due
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.defs.tick import OP_NAME, STORES_TAG, TICK_JOBS

from ..helpers import execute, rows, small_demo


@pytest.fixture
def demo(make_db, tmp_path):
    return small_demo(make_db, "sqlite", "sqlite", tmp_path)


def test_names_users_expect(demo):
    defs = build_defs(demo)
    jobs = {j.name for j in defs.resolve_all_job_defs()}
    assert {"forcar_atualizacao", "enviar_dados", "receber_dados"} <= jobs
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"receber_produtos", "receber_clientes", "enviar_vendas", "enviar_venda_itens",
            "enviar_documentos_fiscais"} <= keys
    job = defs.resolve_job_def("forcar_atualizacao")
    assert job.partitions_def.get_partition_keys() == ["loja_01", "loja_02"]
    sched = {s.name: s for s in defs.schedules}
    assert sched["enviar_dados"].default_status == DefaultScheduleStatus.RUNNING
    assert sched["receber_dados"].default_status == DefaultScheduleStatus.RUNNING
    auto = sched["atualizacao_automatica_5min"]
    assert auto.default_status == DefaultScheduleStatus.STOPPED and auto.job_name == "forcar_atualizacao"
    assert auto.cron_schedule == "*/5 * * * *"
    checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {"origem_e_loja_conferem", "nenhuma_divergencia_restante", "sem_documentos_em_quarentena",
                      "sem_divergencias_restantes", "freshness_check"}   # freshness: defs/freshness.py


def test_demo_config_syncs_clientes_both_ways(make_db, tmp_path):
    """The demo's own config: clientes is two-way (sincronizar_clientes, the conflict report and
    its jobs), part of forcar_atualizacao; the other tables keep their direction."""
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path, customers_twoway=True)
    assert st.table("clientes").direction == "both" and st.table("clientes").origin_columns == ["limite_credito",
                                                                                               "bloqueado"]
    defs = build_defs(st)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"sincronizar_clientes", "conflitos_sincronizacao", "receber_produtos", "enviar_vendas"} <= keys
    assert "receber_clientes" not in keys
    assert {"relatorio_conflitos", "resolver_conflitos"} <= {j.name for j in defs.resolve_all_job_defs()}
    job = defs.resolve_job_def("forcar_atualizacao")
    assert "sincronizar_clientes" in {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    res = job.execute_in_process(instance=DagsterInstance.ephemeral(), partition_key="loja_01")
    assert res.success
    mats = {m.asset_key.to_user_string(): m for m in res.get_asset_materialization_events()}
    assert mats["sincronizar_clientes"].materialization.metadata["inseridas"].value > 0


@pytest.mark.parametrize("minutes,cron,filtered", [
    (1, "* * * * *", False), (5, "*/5 * * * *", False), (7, "* * * * *", True), (60, "0 * * * *", False),
    (90, "* * * * *", True), (120, "0 */2 * * *", False), (1440, "0 */24 * * *", False), (45, "* * * * *", True)])
def test_any_interval(minutes, cron, filtered):
    assert cron_for(minutes) == (cron, filtered)


def test_seven_minute_interval_fires_every_seven_minutes():
    start = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.timezone.utc)
    due = [m for m in range(0, 60 * 24) if is_due(start + dt.timedelta(minutes=m), 7)]
    assert all(b - a == 7 for a, b in zip(due, due[1:])) and len(due) in (205, 206)


def _run(job: str, run_id: str, status, store: str) -> DagsterRun:
    """A run of ``job`` for ``store`` as the instance holds it (a queued run names its code origin)."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="sinc_pipeline.definitions")), "__repository__"), job)
    tags = {STORES_TAG: store} if job in TICK_JOBS else {"dagster/partition": store}
    return DagsterRun(job_name=job, run_id=run_id, status=status, tags=tags, remote_job_origin=origin)


def _tick(sched, instance, repo, when) -> list[str]:
    """The stores a tick requests: a tick job's ONE run lists them in its config and tag; a
    partitioned job requests one run per store."""
    ctx = build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repo)
    requests = sched.evaluate_tick(ctx).run_requests or []
    if sched.job_name not in TICK_JOBS:
        return sorted(r.partition_key for r in requests)
    assert len(requests) <= 1 and all(r.partition_key is None for r in requests)
    stores = [s for r in requests for s in r.run_config["ops"][OP_NAME[TICK_JOBS[sched.job_name]]]["config"]["lojas"]]
    assert [r.tags[STORES_TAG] for r in requests] == ([",".join(stores)] if requests else [])
    return sorted(stores)


def test_schedule_skips_store_with_run_of_same_job_in_progress(demo):
    defs = build_defs(demo)
    sched = {s.name: s for s in defs.schedules}["receber_dados"]
    repo = defs.get_repository_def()
    with instance_for_test() as instance:
        when = dt.datetime(2026, 11, 28, 12, 5, tzinfo=dt.timezone.utc)
        assert _tick(sched, instance, repo, when) == ["loja_01", "loja_02"]
        instance.add_run(DagsterRun(job_name="receber_dados", run_id="a" * 36, status=DagsterRunStatus.STARTED,
                                    tags={STORES_TAG: "loja_01"}))
        assert _tick(sched, instance, repo, when) == ["loja_02"]
        # a run launched from the launchpad names its stores in its config only; lojas: [] = all
        instance.add_run(DagsterRun(job_name="receber_dados", run_id="b" * 36, status=DagsterRunStatus.STARTED,
                                    run_config={"ops": {"rodada_recebimento": {"config": {"lojas": ["loja_02"]}}}}))
        assert _tick(sched, instance, repo, when) == []
        instance.delete_run("a" * 36)
        instance.delete_run("b" * 36)
        instance.add_run(DagsterRun(job_name="receber_dados", run_id="c" * 36, status=DagsterRunStatus.STARTED,
                                    run_config={"ops": {"rodada_recebimento": {"config": {"lojas": []}}}}))
        assert _tick(sched, instance, repo, when) == []


def test_forced_update_schedule_still_one_run_per_store(demo):
    defs = build_defs(demo)
    sched = {s.name: s for s in defs.schedules}["atualizacao_automatica_5min"]
    with instance_for_test() as instance:
        when = dt.datetime(2026, 11, 28, 12, 5, tzinfo=dt.timezone.utc)
        instance.add_run(_run("forcar_atualizacao", "d" * 36, DagsterRunStatus.STARTED, "loja_02"))
        assert _tick(sched, instance, defs.get_repository_def(), when) == ["loja_01"]


@pytest.mark.parametrize("status", [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTED])
def test_send_and_receive_schedules_never_make_each_other_skip(demo, status):
    """Both schedules tick at the same minute while the other's runs are queued or going: each
    still requests every store (the run queue's per-store limit orders them), and each skips
    only the stores with a run of its own job still going."""
    defs = build_defs(demo)
    scheds = {s.name: s for s in defs.schedules}
    repo = defs.get_repository_def()
    when = dt.datetime(2026, 11, 28, 12, 5, tzinfo=dt.timezone.utc)
    with instance_for_test() as instance:
        for i, store in enumerate(["loja_01", "loja_02"]):
            instance.add_run(_run("enviar_dados", f"{i}" * 36, status, store))
        assert _tick(scheds["receber_dados"], instance, repo, when) == ["loja_01", "loja_02"]
        assert _tick(scheds["enviar_dados"], instance, repo, when) == []
        instance.add_run(_run("receber_dados", "r" * 36, status, "loja_02"))
        assert _tick(scheds["receber_dados"], instance, repo, when) == ["loja_01"]
        for run in instance.get_runs():
            instance.delete_run(run.run_id)
        instance.add_run(_run("enviar_dados", "f" * 36, DagsterRunStatus.SUCCESS, "loja_01"))
        assert _tick(scheds["enviar_dados"], instance, repo, when) == ["loja_01", "loja_02"]


def test_forcar_atualizacao_runs_and_reports(demo):
    defs = build_defs(demo)
    with DagsterInstance.ephemeral() as instance:
        first = run_job(defs, "forcar_atualizacao", "loja_01", {}, instance)
        assert first.success, first.error
        assert first.assets["enviar_vendas"]["inseridas"] > 0
        assert first.assets["receber_produtos"]["inseridas"] > 0
        assert "cursor" in first.assets["receber_produtos"]
        assert all(c["passou"] for c in first.checks.values())
        # + enviar_documentos_fiscais:sem_documentos_em_quarentena; + each table's freshness_check (defs/freshness.py)
        assert len(first.checks) == 2 * len(demo.tables) + 1
        again = run_job(defs, "forcar_atualizacao", "loja_01", {}, instance)
        assert again.success
        assert all(a["inseridas"] == a["atualizadas"] == a["excluidas"] == 0 for a in again.assets.values())


def test_unreachable_store_fails_only_its_run(demo, tmp_path):
    bad = demo.model_copy(update={"stores": [demo.stores[0].model_copy(update={
        "url": "postgresql+psycopg://sinc:s3gr3d0@127.0.0.1:1/nada"}), demo.stores[1]]})
    defs = build_defs(bad)
    with DagsterInstance.ephemeral() as instance:
        failed = run_job(defs, "forcar_atualizacao", "loja_01", {}, instance)
        ok = run_job(defs, "forcar_atualizacao", "loja_02", {}, instance)
    assert not failed.success and ok.success
    assert "inacessível" in failed.error and "127.0.0.1:1" in failed.error
    assert "s3gr3d0" not in failed.error and "***" in failed.error


def test_missing_column_named_before_anything_is_written(demo):
    store, origin = demo.store("loja_01").url, demo.origin.url
    execute(store, "ALTER TABLE produto RENAME COLUMN preco_venda TO preco_loja")
    produto = "SELECT * FROM produto ORDER BY id"
    before = rows(store, produto)
    # the receive of produtos has work to do (rows are missing), so a partial write would show
    assert len(before) < rows(origin, "SELECT COUNT(*) FROM produtos")[0][0]
    sales_before = rows(origin, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1")[0][0]
    defs = build_defs(demo)
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "forcar_atualizacao", "loja_01", {}, instance)
    assert not res.success
    # the error names the column, the table and the store
    assert "'preco_venda'" in res.error and "'produto'" in res.error and "loja_01" in res.error
    # the failing unit (receber_produtos) wrote nothing: the same rows, every column value for value
    # (stronger than a count or a checksum), and no cursor position saved for it
    assert "receber_produtos" not in res.assets
    after = rows(store, produto)
    assert len(after) == len(before) and after == before
    assert rows(store, "SELECT COUNT(*) FROM sinc_estado WHERE tabela = 'produtos'") == [(0,)]
    # the send unit ran before it and is complete: exactly the store's sales are at the origin
    sent = res.assets["enviar_vendas"]["inseridas"]
    assert sent > 0
    assert rows(origin, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1")[0][0] == sales_before + sent == \
        rows(store, "SELECT COUNT(*) FROM vendas")[0][0]


def test_definitions_module_loads_from_sinc_config(demo, tmp_path):
    import subprocess
    import sys

    import yaml
    cfg = tmp_path / "sinc.yaml"
    cfg.write_text(yaml.safe_dump(demo.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    code = ("from sinc_pipeline.definitions import defs; "
            "print(sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith('__')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "SINC_CONFIG": str(cfg)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "forcar_atualizacao" in out.stdout and "receber_dados" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("origin: {url: 'sqlite:///x.db'}\nstores: []\ntables: []\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "SINC_CONFIG": str(bad)}, timeout=120)
    assert out.returncode != 0 and "stores" in out.stderr and "Configuração inválida" in out.stderr


def test_each_feature_builds_its_own_definitions_merged_once(demo):
    from dagster import Definitions

    from sinc_pipeline.defs.build import FEATURES

    parts = {f.__name__.rsplit(".", 1)[1]: f.build(demo) for f in FEATURES}
    assert all(isinstance(p, Definitions) for p in parts.values())
    jobs = {name: {j.name for j in p.jobs or []} for name, p in parts.items()}
    assert jobs["sync"] == {"forcar_atualizacao", "enviar_dados", "receber_dados"}
    assert jobs["stock_assets"] == {"alinhar_estoque"} and jobs["fiscal_assets"] == {"relatorio_fiscal"}
    assert jobs["snapshot_assets"] == {"gerar_base_dados", "restaurar_base", "criar_base_loja"}
    assert not any(p.resources for p in parts.values())            # the shared resources are added once
    merged = build_defs(demo)
    assert set(merged.resources) == {"sinc_config", "trava_loja"}
    assert {j.name for j in merged.jobs} == set().union(*jobs.values())
    assert {s.name for s in merged.schedules} == {s.name for p in parts.values() for s in p.schedules or []}
    # without the optional sections, their features contribute nothing and the rest still loads
    bare = demo.model_copy(update={"stock": None, "fiscal": None})
    names = {j.name for j in build_defs(bare).resolve_all_job_defs()}
    assert "alinhar_estoque" not in names and "relatorio_fiscal" not in names and "forcar_atualizacao" in names
    checks = {c.name for c in build_defs(bare).resolve_asset_graph().asset_check_keys}
    assert checks == {"origem_e_loja_conferem", "sem_divergencias_restantes", "freshness_check"}
