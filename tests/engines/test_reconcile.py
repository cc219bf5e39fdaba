"""conferir_lojas's core (reconcile/run.py) over engine pairs, both directions: what differs is
found in full (also what the post-sync aggregates cannot see), reported, and repaired."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from sinc_pipeline.reconcile.compare import DIFFERENT, EXTRA, MISSING
from sinc_pipeline.reconcile.run import reconcile_store, write_report
from sinc_pipeline.sync.direction import sync_direction

from ..helpers import execute, rows, small_demo

PAIRS = [("sqlite", "sqlite"), ("sqlite", "postgresql"), ("postgresql", "mariadb"), ("mariadb", "sqlite")]
STORE = "loja_01"


@pytest.fixture(params=PAIRS, ids=[f"{o}-{s}" for o, s in PAIRS])
def demo(request, make_db, tmp_path):
    origin, store = request.param
    st = small_demo(make_db, origin, store, tmp_path)
    for d in ("send", "receive"):
        sync_direction(st, STORE, d)
    return st


def test_finds_reports_and_repairs_both_directions(demo):
    st = demo
    store_url, origin_url = st.store(STORE).url, st.origin.url
    # receive: a same-length text edit at the store (invisible to the post-sync aggregates)
    execute(store_url, "UPDATE produto SET descricao = CONCAT_WS('', 'X', SUBSTR(descricao, 2)) WHERE id = 10"
            if "mysql" in store_url else "UPDATE produto SET descricao = 'X' || SUBSTR(descricao, 2) WHERE id = 10")
    # send: a sale of this store changed at the origin, and one lost there
    sale, lost = [r[0] for r in rows(origin_url, "SELECT id FROM vendas WHERE loja_id = 1 ORDER BY id")[:2]]
    execute(origin_url, "UPDATE vendas SET status = 'adulterada' WHERE loja_id = 1 AND id = :i", {"i": sale})
    execute(origin_url, "DELETE FROM documentos_fiscais WHERE loja_id = 1 AND venda_id = :i", {"i": lost})
    execute(origin_url, "DELETE FROM venda_itens WHERE loja_id = 1 AND venda_id = :i", {"i": lost})
    execute(origin_url, "DELETE FROM vendas WHERE loja_id = 1 AND id = :i", {"i": lost})

    sim = reconcile_store(st, STORE, simulate=True)
    by = {t.table: t for t in sim.tables}
    assert by["produtos"].counts == {MISSING: 0, EXTRA: 0, DIFFERENT: 1}
    assert by["vendas"].counts[DIFFERENT] == 1 and by["vendas"].counts[MISSING] == 1
    assert by["clientes"].total == 0 and all(t.remaining is None for t in sim.tables)
    path = write_report(st, sim, "r1")
    assert ("produtos", DIFFERENT, '{"id": 10}') in {(r["tabela"], r["tipo"], r["chave"])
                                                     for r in pq.read_table(path).to_pylist()}
    assert rows(origin_url, "SELECT status FROM vendas WHERE loja_id = 1 AND id = :i", i=sale)[0][0] == "adulterada"

    fixed = reconcile_store(st, STORE)
    assert not fixed.errors and fixed.remaining == 0
    by = {t.table: t for t in fixed.tables}
    assert by["produtos"].repaired["atualizadas"] == 1 and by["vendas"].repaired["inseridas"] == 1
    assert rows(origin_url, "SELECT status FROM vendas WHERE loja_id = 1 AND id = :i", i=sale)[0][0] != "adulterada"
    assert rows(origin_url, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1 AND id = :i", i=lost)[0][0] == 1
    assert reconcile_store(st, STORE, simulate=True).remaining == 0
