"""The command line, as scripts and the acceptance scenarios use it: run, --json, exit codes, locks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sinc_pipeline.core.locks import store_lock

from ..helpers import small_demo

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd=None, env=None):
    e = dict(os.environ, **(env or {}))
    e.pop("DAGSTER_HOME", None)
    return subprocess.run([sys.executable, "-m", "sinc_pipeline", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=e, timeout=300)


@pytest.fixture
def config_file(make_db, tmp_path):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    path = tmp_path / "sinc.yaml"
    path.write_text(yaml.safe_dump(st.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path


def test_run_json_counts_then_idle(config_file, tmp_path):
    first = cli("run", "forcar_atualizacao", "--store", "loja_01", "--json", env={"SINC_CONFIG": str(config_file)})
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["sucesso"] is True and data["loja"] == "loja_01"
    assert data["ativos"]["enviar_vendas"]["inseridas"] > 0
    second = cli("run", "forcar_atualizacao", "--store", "loja_01", "--json", env={"SINC_CONFIG": str(config_file)})
    counts = json.loads(second.stdout)["ativos"]
    assert all(v["inseridas"] == v["atualizadas"] == v["excluidas"] == 0 for v in counts.values())
    assert (tmp_path / "dagster" / "dagster.yaml").exists()  # the persistent instance


def test_run_every_store_and_failure_exit_code(config_file):
    raw = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    ok = cli("run", "receber_dados", "--config", str(config_file))
    assert ok.returncode == 0 and "loja_01" in ok.stdout and "loja_02" in ok.stdout
    raw["stores"][1]["url"] = "postgresql://u:segredo@127.0.0.1:1/x"
    config_file.write_text(yaml.safe_dump(raw), encoding="utf-8")
    ko = cli("run", "receber_dados", "--config", str(config_file), "--json")
    assert ko.returncode == 1
    runs = {r["loja"]: r for r in json.loads(ko.stdout)["execucoes"]}
    assert runs["loja_01"]["sucesso"] and not runs["loja_02"]["sucesso"]
    assert "segredo" not in ko.stdout + ko.stderr


def test_unknown_job_and_store_are_named(config_file):
    r = cli("run", "nao_existe", "--store", "loja_01", "--config", str(config_file))
    assert r.returncode != 0 and "nao_existe" in r.stderr and "forcar_atualizacao" in r.stderr
    r = cli("run", "forcar_atualizacao", "--store", "loja_99", "--config", str(config_file))
    assert r.returncode != 0 and "loja_99" in r.stderr and "loja_01" in r.stderr


def test_second_run_for_same_store_refused_while_first_holds_lock(config_file, tmp_path):
    with store_lock(tmp_path / "dagster", "loja_01"):
        r = cli("run", "forcar_atualizacao", "--store", "loja_01", "--json", "--config", str(config_file))
    assert r.returncode == 1
    assert "em andamento" in json.loads(r.stdout)["erro"]



def test_failed_error_check_exits_3_and_names_it(make_db, tmp_path):
    """A run that succeeds but whose ERROR-severity check fails is not a success for a script."""
    from ..engines.test_fiscal_gate import SALE, access_key, set_fiscal_doc

    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    path = tmp_path / "sinc.yaml"
    path.write_text(yaml.safe_dump(st.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    ok = cli("run", "enviar_dados", "--store", "loja_01", "--config", str(path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    set_fiscal_doc(st, SALE, numero=1, chave=access_key(st, number=1))   # a number the origin already has
    ko = cli("run", "enviar_dados", "--store", "loja_01", "--json", "--config", str(path))
    assert ko.returncode == 3, ko.stdout + ko.stderr
    out = json.loads(ko.stdout)
    assert out["sucesso"] is True                                        # the run itself went through
    assert "enviar_documentos_fiscais:sem_documentos_em_quarentena" in out["verificacoes_com_falha"]
    assert all(k.startswith("enviar_documentos_fiscais:") for k in out["verificacoes_com_falha"])
    assert "sem_documentos_em_quarentena" in ko.stderr and "loja_01" in ko.stderr


def test_refused_before_running_is_json_with_parts(config_file):
    r = cli("run", "nao_existe", "--store", "loja_01", "--json", "--config", str(config_file))
    assert r.returncode == 2
    err = json.loads(r.stdout)["erro"]
    assert "nao_existe" in err["mensagem"] and err["tipo"] == "SincError"
    r = cli("run", "forcar_atualizacao", "--store", "loja_99", "--json", "--config", str(config_file))
    assert r.returncode == 1                                  # the configuration names no such store
    err = json.loads(r.stdout)["erro"]
    assert err["tipo"] == "ConfigError" and any("loja_99" in p for p in err["problemas"])


def test_instalar_captura_command(make_db, tmp_path):
    from ..engines.journal_helpers import journal_demo
    from ..helpers import rows
    st = journal_demo(make_db, "sqlite", "sqlite", tmp_path, install=False)
    path = tmp_path / "journal.yaml"
    path.write_text(yaml.safe_dump(st.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    count = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'sinc_cap_%'"
    r = cli("instalar-captura", "--config", str(path))
    assert r.returncode == 0, r.stderr
    assert "gatilhos instalados" in r.stdout and rows(st.origin.url, count)[0][0] == 6
    r = cli("instalar-captura", "--remover", "--config", str(path))
    assert r.returncode == 0 and "gatilhos removidos" in r.stdout and rows(st.origin.url, count)[0][0] == 0
