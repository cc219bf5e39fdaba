"""saude_lojas over a demo in journal mode: a synced store with pending changes and a held row, a
store that never synced and whose last run failed; Markdown metadata and the Parquet file."""
from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.defs.health_assets import ASSET, JOB
from sinc_pipeline.health.failures import RunFailure, append_failure

from ..engines.journal_helpers import journal_demo
from ..helpers import execute


def test_saude_lojas_reports_each_store(make_db, tmp_path):
    st = journal_demo(make_db, "sqlite", "sqlite", tmp_path)
    first, second = st.stores[0].id, st.stores[1].id
    defs = build_defs(st)
    assert defs.get_schedule_def("relatorio_saude_periodico").default_status.value == "RUNNING"
    with DagsterInstance.ephemeral() as instance:
        for job in ("enviar_dados", "receber_dados"):
            res = run_job(defs, job, first, {}, instance)
            assert res.success, res.error
        execute(st.origin.url, "UPDATE produtos SET descricao = 'novo' WHERE id IN (1, 2, 3)")
        append_failure(st.dagster_home, RunFailure("abc123", "receber_dados", [second], "loja não respondeu",
                                                   dt.datetime.now(dt.timezone.utc).isoformat()))
        res = defs.get_job_def(JOB).execute_in_process(instance=instance)
        assert res.success
        mat = res.asset_materializations_for_node(ASSET)[0]
    md = mat.metadata
    assert md["lojas"].value == len(st.stores) and md["lojas_criticas"].value >= 1
    assert first in md["saude"].value and "nunca concluído" in md["saude"].value
    table = pq.read_table(md["arquivo"].value).to_pandas().set_index("loja")
    one, two = table.loc[first], table.loc[second]
    assert one["ultimo_envio"] is not None and one["atraso_envio_min"] == 0.0
    assert one["alteracoes_pendentes"] == 3                    # three products changed after its position
    assert "envio" not in one["problemas"] and "recebimento" not in one["problemas"]   # in step
    assert one["contingencia_atrasada"] >= 1 and one["situacao"] == "critico"  # the demo's late NFC-e (fiscal risk)
    assert two["situacao"] == "critico" and "recebimento nunca concluído" in two["problemas"]
    assert "loja não respondeu" in two["ultima_falha"] and "última falha" in two["problemas"]
