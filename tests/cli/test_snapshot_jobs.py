"""Gerar Base de Dados from the command line: full, incremental, and a bad mode named."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ..helpers import small_demo
from .test_cli import cli


@pytest.fixture
def demo(make_db, tmp_path):
    return small_demo(make_db, "sqlite", "sqlite", tmp_path)


def test_cli_gerar_base_dados(demo, tmp_path):
    cfg = tmp_path / "sinc.yaml"
    cfg.write_text(yaml.safe_dump(demo.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    full = cli("run", "gerar_base_dados", "--store", "loja_01", "--set", "modo=completa", "--json",
               "--config", str(cfg))
    assert full.returncode == 0, full.stderr
    data = json.loads(full.stdout)
    md = data["ativos"]["base_dados_loja"]
    assert data["sucesso"] is True and md["tipo"] == "completa" and Path(md["caminho"]).is_dir()
    inc = cli("run", "gerar_base_dados", "--store", "loja_01", "--set", "modo=incremental", "--json",
              "--config", str(cfg))
    md2 = json.loads(inc.stdout)["ativos"]["base_dados_loja"]
    assert md2["tipo"] == "incremental" and md2["linhas_total"] == 0 and md2["snapshot_pai"] == md["snapshot_id"]
    bad = cli("run", "gerar_base_dados", "--store", "loja_01", "--set", "modo=parcial", "--config", str(cfg))
    assert bad.returncode != 0 and "parcial" in bad.stdout + bad.stderr

