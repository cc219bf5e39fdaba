"""The fiscal gate on real databases: failing documents hold their whole sale in quarantine.

The small demo's loja_01 has 24 sales; 1-19 are at the origin, 20-24 wait to be sent. Sale 23
carries NFC-e série 11 nº 20; sale 1 carries série 11 nº 1 (already at the origin).
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from sinc_pipeline.fiscal.rules import build_access_key
from sinc_pipeline.sync.unit import gate_for
from sinc_pipeline.fiscal.quarantine import HELD, RELEASED, REPLACED, open_entries
from sinc_pipeline.sync.state import get_cursor
from sinc_pipeline.core.db import get_engine
from sinc_pipeline.sync.unit import sync_unit

from ..conftest import ENGINES
from ..helpers import execute, rows, small_demo

STORE = "loja_01"
SALE = 23


def _send(settings, run_id: str) -> dict:
    out = {}
    for unit in settings.units("send"):
        for r in sync_unit(settings, STORE, unit, run_id=run_id):
            out[r.table] = r
    return out


def fiscal_doc(url: str, doc_id: int) -> dict:
    cols = ["modelo", "serie", "numero", "tp_emis", "chave", "atualizado_em"]
    return dict(zip(cols, rows(url, f"SELECT {', '.join(cols)} FROM documentos_fiscais WHERE id = :i", i=doc_id)[0]))


def set_fiscal_doc(settings, doc_id: int, **values) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in values)
    execute(settings.store(STORE).url, f"UPDATE documentos_fiscais SET {sets} WHERE id = :doc_id",
            {**values, "doc_id": doc_id})


def access_key(settings, model=65, series=11, number=1, tp=1, cnf=99_999_999) -> str:
    return build_access_key(35, "2611", settings.store(STORE).cnpj, model, series, number, tp, cnf)


def _at_origin(settings, table: str, column: str, value) -> int:
    return rows(settings.origin.url, f"SELECT COUNT(*) FROM {table} WHERE loja_id = 1 AND {column} = :v", v=value)[0][0]


def _quarantine(settings) -> list[tuple]:
    return rows(settings.origin.url, "SELECT tabela, registro, status, tentativas, motivo, run_id, encerrado_run_id "
                                     "FROM quarentena_fiscal ORDER BY id")


@pytest.fixture(params=ENGINES)
def demo(request, make_db, tmp_path):
    return small_demo(make_db, request.param, request.param, tmp_path)


def test_no_gate_without_documents_table_or_on_receive(make_db, tmp_path):
    demo = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    assert all(gate_for(demo, u) is None for u in demo.units("receive"))
    assert [gate_for(demo, u) is not None for u in demo.units("send")] == [True]
    assert gate_for(demo.model_copy(update={"fiscal": None}), demo.units("send")[0]) is None


def test_duplicate_number_holds_the_whole_sale_until_fixed(demo):
    original = fiscal_doc(demo.store(STORE).url, SALE)
    items = rows(demo.store(STORE).url, "SELECT COUNT(*) FROM venda_itens WHERE venda_id = :v", v=SALE)[0][0]
    # Sale 23's NFC-e reuses nº 1 of série 11, already held at the origin by sale 1's document.
    set_fiscal_doc(demo, SALE, numero=1, chave=access_key(demo, number=1))

    first = _send(demo, "run-1")
    # the sale, its items and its document stay at the store; the rest of the run went through
    assert _at_origin(demo, "vendas", "id", SALE) == 0
    assert _at_origin(demo, "venda_itens", "venda_id", SALE) == 0
    assert _at_origin(demo, "documentos_fiscais", "id", SALE) == 0
    assert [_at_origin(demo, "vendas", "id", v) for v in (20, 21, 22, 24)] == [1, 1, 1, 1]
    assert first["vendas"].inserted == 4 and first["documentos_fiscais"].inserted == 4
    assert first["documentos_fiscais"].extra["documentos_retidos"] == 1
    assert first["venda_itens"].extra["linhas_retidas"] == items
    # the origin's document nº 1 is untouched
    assert rows(demo.origin.url, "SELECT id FROM documentos_fiscais WHERE serie = 11 AND numero = 1 "
                                 "AND loja_id = 1") == [(1,)]
    held = _quarantine(demo)
    assert sorted(h[0] for h in held) == sorted(["vendas", "documentos_fiscais"] + ["venda_itens"] * items)
    assert {h[2] for h in held} == {HELD} and {h[5] for h in held} == {"run-1"}
    doc_row = next(h for h in held if h[0] == "documentos_fiscais")
    assert json.loads(doc_row[1]) == {"id": SALE, "loja_id": 1}
    assert "número já usado na origem por outro documento" in doc_row[4]
    sale_row = next(h for h in held if h[0] == "vendas")
    assert sale_row[4].startswith(f"venda {SALE} retida: documento modelo 65 série 11 nº 1:")
    # the cursor stays at the held rows, so they are read again
    with get_engine(demo.origin.url).connect() as conn:
        cursor = get_cursor(conn, STORE, "documentos_fiscais", "send")
    held_at = original["atualizado_em"]
    assert cursor <= (dt.datetime.fromisoformat(held_at) if isinstance(held_at, str) else held_at)

    # a second run finds them again: same entries, one more attempt, nothing duplicated
    _send(demo, "run-2")
    again = _quarantine(demo)
    assert len(again) == len(held) and {h[3] for h in again} == {2} and {h[2] for h in again} == {HELD}

    # fixed at the store (without touching atualizado_em): released, and the sale reaches the origin
    set_fiscal_doc(demo, SALE, numero=original["numero"], chave=original["chave"])
    fixed = _send(demo, "run-3")
    assert _at_origin(demo, "vendas", "id", SALE) == 1
    assert _at_origin(demo, "venda_itens", "venda_id", SALE) == items
    assert rows(demo.origin.url, "SELECT numero FROM documentos_fiscais WHERE loja_id = 1 AND id = :i",
                i=SALE) == [(original["numero"],)]
    assert fixed["documentos_fiscais"].extra["quarentena_linhas_liberadas"] == len(held)
    done = _quarantine(demo)
    assert len(done) == len(held)                                   # history kept, never deleted
    assert {h[2] for h in done} == {RELEASED} and {h[6] for h in done} == {"run-3"}
    assert open_entries(demo, STORE).empty


def test_document_already_at_origin_is_never_overwritten(demo):
    # Sale 5's document is at the origin; the store changes it to another document's number.
    before = rows(demo.origin.url, "SELECT numero, chave FROM documentos_fiscais WHERE loja_id = 1 AND id = 5")
    set_fiscal_doc(demo, 5, numero=1, chave=access_key(demo, number=1), atualizado_em=dt.datetime(2026, 11, 27, 17, 59))
    out = _send(demo, "run-1")
    assert out["documentos_fiscais"].updated == 0
    assert rows(demo.origin.url, "SELECT numero, chave FROM documentos_fiscais WHERE loja_id = 1 AND id = 5") == before
    held = {(h[0], json.loads(h[1])["id" if h[0] != "venda_itens" else "venda_id"]) for h in _quarantine(demo)}
    assert ("documentos_fiscais", 5) in held


@pytest.mark.parametrize("change, reason", [
    # série 12 is loja_02's NFC-e series (key rebuilt, so only the series is wrong)
    (lambda s, d: {"serie": 12, "chave": access_key(s, series=12, number=d["numero"])},
     "série 12 não é uma série de NFC-e da loja"),
    # the key's check digit is off by one
    (lambda s, d: {"chave": d["chave"][:43] + str((int(d["chave"][43]) + 1) % 10)},
     "dígito verificador da chave de acesso inválido"),
    # a normal series used for an offline contingency document
    (lambda s, d: {"tp_emis": 9, "chave": access_key(s, number=d["numero"], tp=9)},
     "série 11 não é uma série de contingência da loja"),
])
def test_wrong_series_and_bad_check_digit_are_held(demo, change, reason):
    doc = fiscal_doc(demo.store(STORE).url, SALE)
    set_fiscal_doc(demo, SALE, **change(demo, doc))
    out = _send(demo, "run-1")
    assert _at_origin(demo, "documentos_fiscais", "id", SALE) == 0
    assert _at_origin(demo, "vendas", "id", SALE) == 0
    assert _at_origin(demo, "vendas", "id", 24) == 1
    assert out["documentos_fiscais"].extra["documentos_retidos"] == 1
    entries = open_entries(demo, STORE)
    doc_entry = entries[entries["tabela"] == "documentos_fiscais"]
    assert len(doc_entry) == 1 and reason in doc_entry["motivo"].iloc[0]


def test_new_reason_replaces_the_entry_and_keeps_the_old_one(demo):
    set_fiscal_doc(demo, SALE, numero=1, chave=access_key(demo, number=1))
    _send(demo, "run-1")
    doc = fiscal_doc(demo.store(STORE).url, SALE)
    set_fiscal_doc(demo, SALE, chave=doc["chave"][:43] + str((int(doc["chave"][43]) + 1) % 10))
    _send(demo, "run-2")
    docs = [h for h in _quarantine(demo) if h[0] == "documentos_fiscais"]
    assert [h[2] for h in docs] == [REPLACED, HELD]
    assert "número já usado" in docs[0][4] and "dígito verificador" in docs[1][4]


def test_valid_documents_pass_untouched(demo):
    out = _send(demo, "run-1")
    assert out["documentos_fiscais"].extra["documentos_retidos"] == 0
    assert out["documentos_fiscais"].extra["documentos_verificados"] == 5
    assert out["documentos_fiscais"].inserted == 5
    assert open_entries(demo, STORE).empty



@pytest.mark.parametrize("change, reason", [
    (lambda s, d: {"chave": build_access_key(99, "2611", s.store(STORE).cnpj, 65, 11, d["numero"], 1, 7)},
     "cUF 99 da chave não é um código de UF do IBGE"),
    (lambda s, d: {"chave": build_access_key(35, "2612", s.store(STORE).cnpj, 65, 11, d["numero"], 1, 7)},
     "AAMM 2612 da chave é posterior à emissão do documento (2611"),
    (lambda s, d: {"tp_emis": 8, "chave": build_access_key(35, "2611", s.store(STORE).cnpj, 65, 11, d["numero"], 8, 7)},
     "tpEmis 8 não é um tipo de emissão conhecido"),
])
def test_a_key_with_a_wrong_structure_holds_the_sale_with_its_reason(make_db, tmp_path, change, reason):
    demo = small_demo(make_db, "postgresql", "postgresql", tmp_path)
    doc = fiscal_doc(demo.store(STORE).url, SALE)
    set_fiscal_doc(demo, SALE, **change(demo, doc))
    out = _send(demo, "run-1")
    assert _at_origin(demo, "vendas", "id", SALE) == 0 and _at_origin(demo, "vendas", "id", 24) == 1
    assert out["documentos_fiscais"].extra["documentos_retidos"] == 1
    entries = open_entries(demo, STORE)
    assert set(entries["tabela"]) == {"vendas", "venda_itens", "documentos_fiscais"}
    assert reason in entries[entries["tabela"] == "documentos_fiscais"]["motivo"].iloc[0]


def test_the_check_counts_a_quarantined_sale_as_held_not_as_drift(demo):
    """A sale held by the gate is missing at the origin on purpose: the post-sync check of each
    send table warns naming it (only held rows differ) and does not mark the table for a repair,
    which would re-read the whole table at every later send."""
    from sinc_pipeline.core.db import connect
    from sinc_pipeline.sync.state import repair_marked
    from sinc_pipeline.sync.verify import verify_table

    set_fiscal_doc(demo, SALE, numero=1, chave=access_key(demo, number=1))
    results = {}
    for unit in demo.units("send"):
        for t, r in zip(unit, sync_unit(demo, STORE, unit, run_id="run-1")):
            results[t.name] = verify_table(demo, STORE, t, r.written, mark=True)
    for name in ("vendas", "venda_itens", "documentos_fiscais"):
        a = results[name]
        assert not a.passed and a.only_held and not a.marked, (name, a.detail)
        assert a.detail["ausentes_no_destino"] >= 1
        assert any(h["mensagem"].startswith("quarentena fiscal:") for h in a.held)
    with connect(demo.origin.url, "o") as c:
        assert not any(repair_marked(c, STORE, n, "send") for n in ("vendas", "venda_itens", "documentos_fiscais"))
    # an unexplained difference next to it still fails the check
    execute(demo.origin.url, "DELETE FROM vendas WHERE loja_id = 1 AND id = 20")
    a = verify_table(demo, STORE, demo.table("vendas"))
    assert not a.passed and not a.only_held
