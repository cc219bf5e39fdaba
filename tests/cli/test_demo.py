"""`make demo` as a user runs it: the sales group syncs in journal mode (the stores' triggers are
installed by the demo itself), a rerun changes nothing, and a new sale reaches the origin."""
from __future__ import annotations

import sqlite3

import yaml

from sinc_pipeline.cli.main import main

from ..helpers import rows


def test_demo_syncs_sales_in_journal_mode_and_sends_a_new_sale(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SINC_CONFIG", raising=False)
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "modo journal" in first and "[OK] forcar_atualizacao loja=loja_01" in first
    cfg = yaml.safe_load((tmp_path / "data/sinc.yaml").read_text())
    modes = {t["name"]: t.get("capture") for t in cfg["tables"]}
    assert modes["vendas"] == modes["venda_itens"] == modes["documentos_fiscais"] == "journal"

    assert main(["demo"]) == 0                       # a rerun finds nothing to do
    again = capsys.readouterr().out
    assert "inseridas=1" not in again and "atualizadas=1 " not in again
    assert "enviar_vendas                    inseridas=0       atualizadas=0       excluidas=0       comparadas=0" in again

    store = "sqlite:///" + str(tmp_path / "data/demo/loja_01.db")
    origin = "sqlite:///" + str(tmp_path / "data/demo/origem.db")
    new_id = rows(store, "SELECT MAX(id) + 1 FROM vendas")[0][0]
    rows_before = rows(origin, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1")[0][0]
    with sqlite3.connect(tmp_path / "data/demo/loja_01.db") as c:
        c.execute("INSERT INTO vendas (id, cliente_id, emitida_em, total, status, atualizado_em) "
                  "VALUES (?, NULL, '2026-12-02 19:00:00.000000', 10.50, 'concluida', '2026-12-02 19:00:00.000000')",
                  (new_id,))
    assert main(["run", "enviar_dados", "--store", "loja_01"]) == 0
    out = capsys.readouterr().out
    assert "enviar_vendas                    inseridas=1       atualizadas=0       excluidas=0       comparadas=1" in out
    assert rows(origin, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1")[0][0] == rows_before + 1
    assert str(rows(origin, "SELECT total FROM vendas WHERE loja_id = 1 AND id = :i", i=new_id)[0][0]) in ("10.5", "10.50")
