"""``conferir_lojas``: full comparison of every synced table of a store, report, repair, schedule."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, DagsterRunStatus, DefaultScheduleStatus, build_schedule_context, instance_for_test

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.sync.direction import sync_direction

from ..helpers import execute, rows, small_demo

STORE = "loja_01"


@pytest.fixture
def demo(make_db, tmp_path):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    for d in ("send", "receive"):
        sync_direction(st, STORE, d)
    return st


def _drift(st):
    url = st.store(STORE).url
    execute(url, "UPDATE produto SET preco_venda = 0.01 WHERE id = 10")     # edited at the store
    execute(url, "DELETE FROM produto WHERE id = 11")                       # lost at the store
    execute(url, "INSERT INTO produto (id, descricao, unidade, preco_venda, ativo) VALUES (9999, 'intrusa', 'UN', 1, 1)")


def _price(st, pid):
    got = rows(st.store(STORE).url, "SELECT preco_venda FROM produto WHERE id = :i", i=pid)
    return None if not got else Decimal(str(got[0][0]))


def test_simulate_reports_and_changes_nothing_then_repair(demo):
    st = demo
    _drift(st)
    defs = build_defs(st)
    with DagsterInstance.ephemeral() as instance:
        sim = run_job(defs, "conferir_lojas", STORE, {"simular": True}, instance)
        assert sim.success, sim.error
        md = sim.assets["divergencias_sincronizacao"]
        assert (md["ausente_no_destino"], md["somente_no_destino"], md["diferente"]) == (1, 1, 1)
        assert md["tabelas_divergentes"] == 1 and "produtos" in md["por_tabela"]
        assert '{"id": 10}' in md["por_tabela"]
        table = pq.read_table(md["arquivo"])
        assert sorted(zip(table.column("tipo").to_pylist(), table.column("chave").to_pylist())) == [
            ("ausente_no_destino", '{"id": 11}'), ("diferente", '{"id": 10}'), ("somente_no_destino", '{"id": 9999}')]
        check = sim.checks["divergencias_sincronizacao:sem_divergencias_restantes"]
        assert check == {"passou": False, "severidade": "WARN"}
        assert _price(st, 10) == Decimal("0.01") and _price(st, 9999) is not None

        fix = run_job(defs, "conferir_lojas", STORE, {"simular": False}, instance)
        assert fix.success, fix.error
        assert fix.checks["divergencias_sincronizacao:sem_divergencias_restantes"]["passou"] is True
        assert "atualizadas 1" in fix.assets["divergencias_sincronizacao"]["por_tabela"]
    origin = Decimal(str(rows(st.origin.url, "SELECT preco FROM produtos WHERE id = 10")[0][0]))
    assert _price(st, 10) == origin and _price(st, 11) is not None and _price(st, 9999) is None


def test_nothing_to_do_when_sides_agree(demo):
    defs = build_defs(demo)
    with DagsterInstance.ephemeral() as instance:
        out = run_job(defs, "conferir_lojas", STORE, {}, instance)
    assert out.success and out.assets["divergencias_sincronizacao"]["divergencias"] == 0
    assert out.checks["divergencias_sincronizacao:sem_divergencias_restantes"]["passou"] is True


def test_daily_schedule_every_store_on_by_default_and_skips_busy(demo):
    st = demo.model_copy(update={"reconcile": demo.reconcile.model_copy(update={"hour": 2, "minute": 30})})
    defs = build_defs(st)
    sched = defs.resolve_schedule_def("conferir_lojas_diario")
    assert sched.cron_schedule == "30 2 * * *" and sched.execution_timezone == "America/Sao_Paulo"
    assert sched.default_status == DefaultScheduleStatus.RUNNING
    with instance_for_test() as instance:
        ctx = build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2026, 12, 2, 5, 30,
                                                                                               tzinfo=dt.timezone.utc))
        reqs = sched(ctx)
        assert sorted(r.partition_key for r in reqs) == ["loja_01", "loja_02"]
        job = defs.resolve_job_def("conferir_lojas")
        run = instance.create_run_for_job(job, run_config={}, tags={"dagster/partition": "loja_01"},
                                          status=DagsterRunStatus.STARTED)
        assert run.status == DagsterRunStatus.STARTED
        ctx = build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2026, 12, 3, 5, 30,
                                                                                               tzinfo=dt.timezone.utc))
        reqs = sched(ctx)
        assert [r.partition_key for r in reqs] == ["loja_02"]
