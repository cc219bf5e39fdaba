"""The run summary knows the sync assets by their tag, not by a metadata key named ``inseridas``."""
from __future__ import annotations

import json

from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.main import _print_summary
from sinc_pipeline.cli.run import RunSummary, run_job
from sinc_pipeline.defs.metadata import SyncCounts

from ..helpers import small_demo


def test_print_summary_uses_the_typed_counts(capsys):
    s = RunSummary("loja_01", "forcar_atualizacao", "r1", True,
                   assets={"enviar_vendas": {"loja": "loja_01", "inseridas": 99},
                           "outro_ativo": {"inseridas": 5, "arquivo": "x.parquet"}},
                   syncs={"enviar_vendas": SyncCounts("loja_01", "vendas", "cursor", 12, 3, 2, 1, 0.5, "10")})
    _print_summary(s)
    lines = capsys.readouterr().out.splitlines()
    sync = next(line for line in lines if "enviar_vendas" in line)
    assert "inseridas=3 " in sync and "atualizadas=2 " in sync and "excluidas=1 " in sync
    assert sync.rstrip().endswith("comparadas=12")
    other = next(line for line in lines if "outro_ativo" in line)       # a key named inseridas is not enough
    assert "comparadas" not in other and "inseridas=5" in other and "arquivo=x.parquet" in other


def test_run_summary_has_counts_only_for_sync_assets(make_db, tmp_path):
    demo = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    defs = build_defs(demo)
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "alinhar_estoque", "loja_01", {"simular": True}, instance)
    assert res.success, res.error
    sends = {f"enviar_{t.name}": t.name for t in demo.tables if t.direction == "send"}
    assert set(res.syncs) == set(sends) and "divergencias_estoque" in res.assets   # stock assets: no counts
    for asset, counts in res.syncs.items():
        md = res.assets[asset]
        assert counts.table == sends[asset] and counts.store == "loja_01"
        assert (counts.inserted, counts.updated, counts.deleted, counts.compared) == \
            (md["inseridas"], md["atualizadas"], md["excluidas"], md["linhas_comparadas"])
    assert res.syncs["enviar_vendas"].inserted > 0
    out = json.loads(json.dumps(res.as_dict(), default=str))
    listed = {s["ativo"]: s for s in out["sincronizacoes"]}
    assert set(listed) == set(sends) and listed["enviar_vendas"]["tabela"] == "vendas"
    assert listed["enviar_vendas"]["inseridas"] == out["ativos"]["enviar_vendas"]["inseridas"]
