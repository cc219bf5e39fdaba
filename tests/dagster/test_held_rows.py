"""Held rows in Dagster: the run succeeds, the table's check warns naming the key, and the
asset erros_sincronizacao lists the row per store; once fixed, both clear."""
from __future__ import annotations

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.settings import parse_settings

from ..helpers import execute

CNPJ = "11222333000181"


def _check(instance, run_id: str, asset: str, check: str):
    for ev in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        data = ev.dagster_event.event_specific_data
        if data.check_name == check and data.asset_key.to_user_string() == asset:
            return data
    raise AssertionError(f"check {check} on {asset} not evaluated")


def _materialization(instance, run_id: str, asset: str) -> dict:
    for ev in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        mat = ev.dagster_event.event_specific_data.materialization
        if mat.asset_key.to_user_string() == asset:
            return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    raise AssertionError(f"{asset} not materialized")


def test_held_row_warns_in_the_check_and_is_listed_until_fixed(make_db, tmp_path):
    origin, store, other = make_db("sqlite"), make_db("sqlite"), make_db("sqlite")
    execute(origin, "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome VARCHAR(100))")
    for url in (store, other):
        execute(url, "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome VARCHAR(10) CHECK (length(nome) <= 10))")
    execute(origin, "INSERT INTO produtos VALUES (1, 'arroz'), (2, 'feijão carioca tipo 1'), (3, 'sal')")
    st = parse_settings({
        "origin": {"url": origin}, "dagster_home": str(tmp_path / "dagster"),
        "stores": [{"id": "loja_01", "url": store, "filter": {"loja_id": 1}, "cnpj": CNPJ},
                   {"id": "loja_02", "url": other, "filter": {"loja_id": 2}, "cnpj": "11222333000262"}],
        "tables": [{"name": "produtos", "direction": "receive", "key": ["id"]}]})
    defs = build_defs(st)
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "receber_dados", "loja_01", {}, instance)
        assert res.success, res.error                                        # the run itself succeeds
        assert res.assets["receber_produtos"]["inseridas"] == 2 and res.assets["receber_produtos"]["retidas"] == 1
        check = _check(instance, res.run_id, "receber_produtos", "origem_e_loja_conferem")
        assert not check.passed and check.severity == AssetCheckSeverity.WARN
        assert '{"id": 2}' in check.description and '{"id": 2}' in check.metadata["retidas"].value
        report = run_job(defs, "relatorio_erros", None, {}, instance)
        assert report.success, report.error
        md = _materialization(instance, report.run_id, "erros_sincronizacao")
        assert md["linhas_retidas"] == 1
        assert md["loja_01"].splitlines()[0].startswith("| loja | tabela | chave | coluna | valor | mensagem |")
        assert '{"id": 2}' in md["loja_01"] and "feijão carioca" in md["loja_01"] and "CHECK" in md["loja_01"]
        assert md["loja_02"] == "Nenhuma linha retida."

        execute(origin, "UPDATE produtos SET nome = 'feijão' WHERE id = 2")
        res = run_job(defs, "receber_dados", "loja_01", {}, instance)
        check = _check(instance, res.run_id, "receber_produtos", "origem_e_loja_conferem")
        assert check.passed and res.assets["receber_produtos"]["retidas"] == 0
        report = run_job(defs, "relatorio_erros", None, {}, instance)
        assert _materialization(instance, report.run_id, "erros_sincronizacao")["linhas_retidas"] == 0
