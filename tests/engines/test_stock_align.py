"""Alinhar Estoque on real databases: simulate, align with audit, concurrent sales (the job: dagster/).

The small demo's stores hold 60 products; products 25 and 50 are drifted by +1.000 at the store.
The store's ``estoque`` has no ``loja_id``; the origin's does (the store filter selects its rows).
"""
from __future__ import annotations

import json
from decimal import Decimal as D

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.fiscal.rules import build_access_key
from sinc_pipeline.fiscal.quarantine import open_entries
from sinc_pipeline.stock.align import (REASON, align_stock, apply_alignment, compute_divergences,
                                       read_stocks)

from ..conftest import ENGINES
from ..helpers import execute, rows, small_demo

STORE = "loja_01"


@pytest.fixture(params=ENGINES)
def demo(request, make_db, tmp_path):
    return small_demo(make_db, request.param, request.param, tmp_path)


@pytest.fixture
def sqlite_demo(make_db, tmp_path):
    return small_demo(make_db, "sqlite", "sqlite", tmp_path)


def stocks_of(settings) -> tuple[dict, dict]:
    """(store, origin) as {produto_id: Decimal}, read the way the alignment reads them."""
    store, origin, _ = read_stocks(settings, STORE)
    as_dict = lambda t: dict(zip(t.column("produto_id").to_pylist(), t.column("quantidade").to_pylist()))  # noqa: E731
    return as_dict(store), as_dict(origin)


def drift_stock(settings) -> None:
    """Exact small differences: +0.001 kg, a product only at the store, one only at the origin."""
    store = settings.store(STORE).url
    execute(store, "UPDATE estoque SET quantidade = :q WHERE produto_id = 3", {"q": D("10.001")})
    execute(settings.origin.url, "UPDATE estoque SET quantidade = :q WHERE loja_id = 1 AND produto_id = 3",
            {"q": D("10.000")})
    execute(store, "INSERT INTO estoque (produto_id, quantidade) VALUES (9001, :q)", {"q": D("2.500")})
    execute(settings.origin.url, "INSERT INTO estoque (loja_id, produto_id, quantidade) VALUES (1, 9002, :q)",
            {"q": D("0.001")})


def _audit(settings) -> list[tuple]:
    return rows(settings.store(STORE).url,
                "SELECT produto_id, operacao, quantidade_anterior, quantidade_nova, diferenca, motivo, run_id "
                "FROM ajustes_estoque ORDER BY id")


def _has_table(url: str, name: str) -> bool:
    from sinc_pipeline.core.db import get_engine
    with get_engine(url).connect() as c:
        return sa.inspect(c).has_table(name)


def test_simulate_changes_nothing(demo):
    drift_stock(demo)
    before = stocks_of(demo)[0]
    run = align_stock(demo, STORE, run_id="sim-1", simulate=True)
    assert run.alignment is None
    assert stocks_of(demo)[0] == before
    assert not _has_table(demo.store(STORE).url, "ajustes_estoque")
    div = pq.read_table(run.path)
    assert sorted(div.column("produto_id").to_pylist()) == [3, 25, 50, 9001, 9002]
    by_key = {r["produto_id"]: r for r in div.to_pylist()}
    assert by_key[3]["diferenca"] == D("-0.001") and by_key[3]["situacao"] == "divergente"
    assert by_key[9001]["situacao"] == "somente_loja" and by_key[9002]["situacao"] == "somente_origem"


def test_alignment_makes_store_equal_origin_with_audit(demo):
    drift_stock(demo)
    run = align_stock(demo, STORE, run_id="run-1")
    store, origin = stocks_of(demo)
    assert run.alignment.updated == 4 and run.alignment.inserted == 1 and not run.alignment.conflicts
    assert store[3] == D("10.000") and store[9002] == D("0.001") and store[9001] == D("0")
    assert {k: v for k, v in store.items() if k != 9001} == origin     # 9001 is kept at 0, never deleted
    assert compute_divergences(demo, STORE).table.num_rows == 0
    audit = {r[0]: r[1:] for r in _audit(demo)}
    assert len(audit) == 5
    op, before, after, diff, reason, run_id = audit[3]
    assert (op, D(str(before)), D(str(after)), D(str(diff))) == ("atualizacao", D("10.001"), D("10.000"), D("-0.001"))
    assert (reason, run_id) == (REASON, "run-1")
    assert audit[9002][:2] == ("inclusao", None) and D(str(audit[9002][3])) == D("0.001")
    assert D(str(audit[9001][3])) == D("-2.5")

    # A second drift and run: new audit rows are added, the old ones stay as they were.
    first = _audit(demo)
    execute(demo.store(STORE).url, "UPDATE estoque SET quantidade = :q WHERE produto_id = 3", {"q": D("9.999")})
    align_stock(demo, STORE, run_id="run-2")
    history = _audit(demo)
    assert len(history) == 6 and history[:5] == first
    assert history[5][0] == 3 and history[5][6] == "run-2" and D(str(history[5][4])) == D("0.001")


def test_sale_during_alignment_is_not_overwritten(demo):
    drift_stock(demo)
    div = compute_divergences(demo, STORE)                   # 1) read
    store = demo.store(STORE).url                            # 2) a sale of 0.250 kg of product 3 meanwhile
    execute(store, "UPDATE estoque SET quantidade = quantidade - :q WHERE produto_id = 3", {"q": D("0.250")})
    result = apply_alignment(demo, STORE, div.table, run_id="run-1")   # 3) apply what was read
    assert [c["produto_id"] for c in result.conflicts] == [3]
    conflict = result.conflicts[0]
    assert D(str(conflict["quantidade_lida"])) == D("10.001")
    assert D(str(conflict["quantidade_atual"])) == D("9.751")
    assert stocks_of(demo)[0][3] == D("9.751")                 # the sale is kept
    assert 3 not in {r[0] for r in _audit(demo)}             # no adjustment recorded for it
    assert result.updated == 3 and result.inserted == 1      # the others went through
    left = compute_divergences(demo, STORE).table
    assert left.column("produto_id").to_pylist() == [3]      # left for the next run
    assert align_stock(demo, STORE, run_id="run-2").alignment.updated == 1
    assert compute_divergences(demo, STORE).table.num_rows == 0


def test_product_inserted_meanwhile_is_not_duplicated(sqlite_demo):
    drift_stock(sqlite_demo)
    div = compute_divergences(sqlite_demo, STORE)
    execute(sqlite_demo.store(STORE).url, "INSERT INTO estoque (produto_id, quantidade) VALUES (9002, :q)",
            {"q": D("5")})
    result = apply_alignment(sqlite_demo, STORE, div.table, run_id="run-1")
    assert result.inserted == 0 and [c["produto_id"] for c in result.conflicts] == [9002]
    assert stocks_of(sqlite_demo)[0][9002] == D("5")


def test_products_of_sales_held_in_fiscal_quarantine_wait(sqlite_demo):
    s = sqlite_demo
    store = s.store(STORE)
    # sale 23's document reuses a number held at the origin: the sale is held, its items too
    key = build_access_key(35, "2611", store.cnpj, 65, 11, 1, 1, 99_999_999)
    execute(store.url, "UPDATE documentos_fiscais SET numero = 1, chave = :k WHERE id = 23", {"k": key})
    product = rows(store.url, "SELECT produto_id FROM venda_itens WHERE venda_id = 23 ORDER BY item")[0][0]
    execute(store.url, "UPDATE estoque SET quantidade = quantidade + 3 WHERE produto_id = :p", {"p": product})
    run = align_stock(s, STORE, run_id="run-1")
    held = open_entries(s, STORE)
    assert product in {json.loads(d).get("produto_id") for d in held["dados"]}
    assert product in [d["produto_id"] for d in run.alignment.deferred]
    assert product not in {r[0] for r in _audit(s)}
    assert product in compute_divergences(s, STORE).table.column("produto_id").to_pylist()


def test_missing_quantity_column_is_named(sqlite_demo):
    bad = sqlite_demo.model_copy(update={"stock": sqlite_demo.stock.model_copy(update={"quantity": "qtd"})})
    with pytest.raises(SchemaError, match="'qtd'.*stock.quantity"):
        compute_divergences(bad, STORE)

