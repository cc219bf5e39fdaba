"""The ``relatorio_fiscal`` job and its daily schedule, over a known set of documents at the origin."""
from __future__ import annotations

import pyarrow.parquet as pq
from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.fiscal.report import local_now

from ..engines.test_fiscal_report import load_documents
from ..helpers import small_demo


def test_relatorio_fiscal_job(make_db, tmp_path):
    settings = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    load_documents(settings, local_now(settings))
    defs = build_defs(settings)
    sched = {s.name: s for s in defs.schedules}["relatorio_fiscal_diario"]
    assert sched.job_name == "relatorio_fiscal" and sched.execution_timezone == "America/Sao_Paulo"
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "relatorio_fiscal", None, {}, instance)
    assert res.success, res.error
    md = res.assets["lacunas_numeracao"]
    assert (md["lacunas"], md["numeros_faltantes"], md["contingencia_pendente"], md["contingencia_atrasada"]) == \
        (2, 3, 2, 1)
    assert "| loja_01 " in md["tabela_lacunas"] and "| 7 " in md["tabela_lacunas"]
    assert "| sim " in md["tabela_contingencia"] and "| não " in md["tabela_contingencia"]
    assert pq.read_table(md["arquivo"]).num_rows == 4

