"""`make demo` as a user runs it: the sales group and the two-way clientes sync in journal mode
(the triggers are installed by the demo itself), customers edited at both ends make conflicts that
are recorded once and decided by the table's rule, a rerun changes nothing, and a new sale reaches
the origin."""
from __future__ import annotations

import sqlite3

import yaml

from sinc_pipeline.cli.main import main

from ..helpers import rows


def test_demo_syncs_sales_in_journal_mode_and_sends_a_new_sale(tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SINC_CONFIG", raising=False)
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "modo journal" in first and "[OK] forcar_atualizacao loja=loja_01" in first
    cfg = yaml.safe_load((tmp_path / "data/sinc.yaml").read_text())
    modes = {t["name"]: t.get("capture") for t in cfg["tables"]}
    assert modes["vendas"] == modes["venda_itens"] == modes["documentos_fiscais"] == modes["clientes"] == "journal"
    assert "instalada em 8 tabela(s) das lojas e 1 da origem" in first

    # the two-way story: the conflicts reported (log line and console) and decided by origin_wins
    store = "sqlite:///" + str(tmp_path / "data/demo/loja_01.db")
    store2 = "sqlite:///" + str(tmp_path / "data/demo/loja_02.db")
    origin = "sqlite:///" + str(tmp_path / "data/demo/origem.db")
    assert any("clientes (loja loja_01): 1 conflito(s) registrado(s) em conflitos_sincronizacao — chave 1: "
               "atualização, origin_wins" in m for m in caplog.messages)
    assert "#2 loja_02 clientes chave 2: exclusão, regra origin_wins" in first
    assert rows(origin, "SELECT loja, chave, tipo, resultado, status FROM conflitos_sincronizacao ORDER BY id") == [
        ("loja_01", "1", "atualização", "origem", "resolvido"), ("loja_02", "2", "exclusão", "origem", "resolvido")]
    email = "financeiro@matriz.exemplo.com.br"          # HQ's edit of the shared column won, at both ends
    assert rows(store, "SELECT email FROM clientes WHERE id = 1") == [(email,)]
    assert rows(origin, "SELECT email FROM clientes WHERE loja_id = 1 AND id = 1") == [(email,)]
    merged = ("(11) 98888-0000", 1)                      # the store's phone and HQ's block, no conflict
    for url, where in ((store, "id = 3"), (origin, "loja_id = 1 AND id = 3")):
        got = rows(url, f"SELECT telefone, bloqueado, limite_credito FROM clientes WHERE {where}")[0]
        assert (got[0], int(got[1])) == merged and float(got[2]) == 2500.0
    assert rows(store2, "SELECT COUNT(*) FROM clientes WHERE id IN (2, 125)") == [(2,)]   # came back; HQ's new one
    assert rows(origin, "SELECT COUNT(*) FROM clientes WHERE loja_id = 1 AND id = 126") == [(1,)]
    for s in ("loja_01", "loja_02"):
        o = rows(origin, f"SELECT id, nome, email, telefone, endereco, limite_credito, bloqueado FROM clientes "
                         f"WHERE loja_id = {int(s[-1])} ORDER BY id")
        url = store if s == "loja_01" else store2
        assert o == rows(url, "SELECT id, nome, email, telefone, endereco, limite_credito, bloqueado FROM clientes "
                              "ORDER BY id")

    caplog.clear()
    assert main(["demo"]) == 0                       # a rerun finds nothing to do
    again = capsys.readouterr().out
    assert "inseridas=1" not in again and "atualizadas=1 " not in again
    assert "enviar_vendas                    inseridas=0       atualizadas=0       excluidas=0       comparadas=0" in again
    assert again.count("sincronizar_clientes             inseridas=0       atualizadas=0       excluidas=0       "
                       "comparadas=0") == 2                # by the journal: nothing read
    assert not any("conflito" in m for m in caplog.messages) and len(rows(origin, "SELECT id FROM conflitos_sincronizacao")) == 2
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
