"""Two-way tables in Dagster: the assets load, a run syncs, the conflict report and
resolver_conflitos work, and simular writes nothing."""
from __future__ import annotations

from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.core.db import get_engine

from .test_twoway import checksum, create, settings


def test_twoway_assets_sync_report_and_resolve(make_db, tmp_path):
    o_url, s_url = make_db("sqlite"), make_db("sqlite")
    create(o_url, store=False)
    create(s_url, store=True)
    st = settings(o_url, {"loja_01": s_url}, "manual")
    st = st.model_copy(update={"stores": st.stores[:1], "reports_root": str(tmp_path / "rel")})
    with get_engine(o_url).begin() as c:
        c.exec_driver_sql("INSERT INTO clientes VALUES (1, 1, 'a', '1', 1, '1', 0)")
    defs = build_defs(st)
    inst = DagsterInstance.ephemeral()
    job = defs.get_job_def("forcar_atualizacao")
    assert job.execute_in_process(instance=inst, partition_key="loja_01").success
    with get_engine(o_url).begin() as c:
        c.exec_driver_sql("UPDATE clientes SET nome = 'O'")
    with get_engine(s_url).begin() as c:
        c.exec_driver_sql("UPDATE clientes SET nome = 'S'")
    before = [checksum(o_url), checksum(s_url)]
    prev = job.execute_in_process(instance=inst, partition_key="loja_01",
                                  run_config={"ops": {"sincronizar_bidirecional": {"config": {"simular": True}}}})
    assert prev.success and before == [checksum(o_url), checksum(s_url)]
    res = job.execute_in_process(instance=inst, partition_key="loja_01", raise_on_error=False)
    checks = [e for e in res.get_asset_check_evaluations() if e.asset_key.path == ["sincronizar_clientes"]]
    assert checks and not checks[0].passed and checks[0].severity.value == "WARN"
    report = defs.get_job_def("resolver_conflitos").execute_in_process(
        instance=inst, run_config={"ops": {"conflitos_sincronizacao": {"config": {"ids": [1], "lado": "loja"}}}})
    assert report.success
    with get_engine(o_url).connect() as c:
        assert c.exec_driver_sql("SELECT nome FROM clientes").scalar() == "S"
        assert c.exec_driver_sql("SELECT status FROM conflitos_sincronizacao").scalar() == "resolvido"
