"""``python -m sinc_pipeline check --databases``: the real schemas, every finding at once, nothing written."""
from __future__ import annotations

import yaml

from ..helpers import execute, rows
from .test_cli import cli

CNPJ = "11222333000181"


def _config(tmp_path, origin: str, store: str, tables: list[str]) -> str:
    path = tmp_path / "sinc.yaml"
    path.write_text(yaml.safe_dump({
        "origin": {"url": origin},
        "stores": [{"id": "loja_01", "url": store, "cnpj": CNPJ}],
        "tables": [{"name": t, "direction": "receive", "key": ["codigo" if t == "clientes" else "id"]} for t in tables],
    }, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_check_databases_reports_charsets_precision_and_collations(make_db, tmp_path):
    origin, store = make_db("sqlite"), make_db("mariadb")
    execute(origin, "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(store, "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome VARCHAR(60)) CHARACTER SET utf8mb3")
    execute(origin, "INSERT INTO produtos VALUES (1, 'Sorvete 🍦')")
    execute(origin, "CREATE TABLE eventos (id INTEGER NOT NULL PRIMARY KEY, quando DATETIME)")
    execute(store, "CREATE TABLE eventos (id INTEGER NOT NULL PRIMARY KEY, quando DATETIME(0))")
    execute(origin, "CREATE TABLE clientes (codigo VARCHAR(20) NOT NULL PRIMARY KEY, nome VARCHAR(60))")
    execute(store, "CREATE TABLE clientes (codigo VARCHAR(20) NOT NULL PRIMARY KEY, nome VARCHAR(60)) "
                   "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    execute(origin, "INSERT INTO clientes VALUES ('José', 'um'), ('Jose', 'outro')")

    out = cli("check", _config(tmp_path, origin, store, ["produtos", "eventos", "clientes"]), "--databases")
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    charset = [x for x in lines if x.startswith("[ERRO] loja loja_01, tabela 'produtos', coluna 'nome'")]
    assert charset and "utf8mb3" in charset[0] and "🍦" in charset[0]
    assert "CONVERT TO CHARACTER SET utf8mb4" in charset[0]
    precision = [x for x in lines if x.startswith("[AVISO] loja loja_01, tabela 'eventos', coluna 'quando'")]
    assert precision and "microssegundos → segundos" in precision[0]
    collation = [x for x in lines if x.startswith("[ERRO] loja loja_01, tabela 'clientes', coluna 'codigo'")]
    assert collation and "José" in collation[0] and "utf8mb4_nopad_bin" in collation[0]
    assert "3 tabela(s): 2 erro(s), 1 aviso(s)" in out.stdout
    assert rows(store, "SELECT COUNT(*) FROM produtos") == [(0,)]                  # nothing written

    ok = cli("check", _config(tmp_path, origin, store, ["eventos"]), "--databases")
    assert ok.returncode == 0, ok.stdout + ok.stderr                               # a warning is not an error
    assert "0 erro(s), 1 aviso(s)" in ok.stdout


def test_check_databases_missing_table_and_unreachable_store(make_db, tmp_path):
    origin, store = make_db("sqlite"), make_db("sqlite")
    execute(origin, "CREATE TABLE eventos (id INTEGER NOT NULL PRIMARY KEY, quando DATETIME)")
    missing = cli("check", _config(tmp_path, origin, store, ["eventos"]), "--databases")
    assert missing.returncode == 1 and "[ERRO] loja loja_01, tabela 'eventos'" in missing.stdout
    assert "não existe" in missing.stdout
    down = cli("check", _config(tmp_path, origin, "postgresql://u:segredo@127.0.0.1:1/x", ["eventos"]), "--databases")
    assert down.returncode == 2 and "loja loja_01" in down.stderr and "segredo" not in down.stdout + down.stderr
