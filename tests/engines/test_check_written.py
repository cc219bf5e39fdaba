"""The post-sync check (sync/verify.py with the written keys): what the run wrote, plus per-range
aggregates computed in each database; a failure marks the table, the next sync repairs it."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sinc_pipeline.core.db import connect
from sinc_pipeline.sync.fingerprint import bucket_sums, key_buckets
from sinc_pipeline.sync.state import repair_marked
from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import WRITTEN, verify_table

from ..helpers import execute, rows, small_demo

PAIRS = [("sqlite", "sqlite"), ("sqlite", "postgresql"), ("postgresql", "mariadb"), ("mariadb", "sqlite")]


@pytest.fixture(params=PAIRS, ids=[f"{o}-{s}" for o, s in PAIRS])
def demo(request, make_db, tmp_path):
    origin, store = request.param
    return small_demo(make_db, origin, store, tmp_path)


def produtos(st):
    return st.units("receive")[1]


def _check(st, r, table):
    return verify_table(st, "loja_01", table, r.written, mark=True)


def test_equal_data_gives_equal_aggregates_on_every_engine(demo):
    """After a sync both databases compute the same per-range sums: no range is re-read."""
    st = demo
    for unit in st.units("receive"):
        for t, r in zip(unit, sync_unit(st, "loja_01", unit)):
            a = _check(st, r, t)
            assert a.passed, (t.name, a.detail)
            if a.mode == WRITTEN:
                assert a.detail["faixas_relidas"] == 0, t.name
                assert a.source_checksum == a.target_checksum


def test_a_row_edited_at_the_store_fails_the_check_and_the_next_run_repairs_it(demo):
    st = demo
    unit = produtos(st)
    table = unit[0]
    assert table.cursor   # cursor mode: the edit is outside any window the sync reads
    execute(st.origin.url, "UPDATE produtos SET atualizado_em = :t WHERE id = 10", {"t": dt.datetime(2020, 1, 1)})
    sync_unit(st, "loja_01", unit)
    store_url = st.store("loja_01").url
    before = rows(store_url, "SELECT preco_venda FROM produto WHERE id = 10")[0][0]
    execute(store_url, "UPDATE produto SET preco_venda = 0.01 WHERE id = 10")   # behind the sync's back
    r = sync_unit(st, "loja_01", unit)[0]
    assert r.changed == 0 and not r.repaired          # cursor mode does not see it
    a = _check(st, r, table)
    assert not a.passed and not a.only_held and a.marked
    assert a.detail["diferentes"] == 1 and a.detail["faixas_relidas"] == 1
    with connect(store_url, "loja") as c:
        assert repair_marked(c, "loja_01", "produtos", "receive")
    r = sync_unit(st, "loja_01", unit)[0]              # the mark forces a full diff
    assert r.repaired and r.updated == 1
    assert Decimal(str(rows(store_url, "SELECT preco_venda FROM produto WHERE id = 10")[0][0])) == \
        Decimal(str(before))
    a = _check(st, r, table)
    assert a.passed and not a.marked
    with connect(store_url, "loja") as c:
        assert not repair_marked(c, "loja_01", "produtos", "receive")
    assert sync_unit(st, "loja_01", unit)[0].repaired is False


def test_written_rows_are_compared_in_full(demo):
    """A difference the aggregates cannot see (a text edited to the same length) in a row the run
    wrote is still found, by the read-back."""
    st = demo
    unit = produtos(st)
    sync_unit(st, "loja_01", unit)
    execute(st.origin.url, "UPDATE produtos SET descricao = 'ABCDE', atualizado_em = :t WHERE id = 11",
            {"t": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)})

    r = sync_unit(st, "loja_01", unit)[0]
    assert r.updated == 1 and r.written.keys.num_rows == 1
    execute(st.store("loja_01").url, "UPDATE produto SET descricao = 'ABCDX' WHERE id = 11")
    a = _check(st, r, unit[0])
    assert not a.passed and a.detail["diferentes"] == 1


def test_bucket_sums_see_a_changed_price(demo):
    st = demo
    unit = produtos(st)
    sync_unit(st, "loja_01", unit)
    from sinc_pipeline.core.layout import resolve_plan
    from sinc_pipeline.sync.sides import sides_for
    store = st.store("loja_01")
    with connect(st.origin.url, "o") as o, connect(store.url, "l") as s:
        plan = resolve_plan(unit[0], store, o, st.origin.url, s, store.url, scan=False)
        src, tgt = sides_for(plan, "receive", o, s, 1000)
        b = key_buckets("id", [(100, 1, 100)], 10)
        assert bucket_sums(src, b) == bucket_sums(tgt, b)
    execute(store.url, "UPDATE produto SET preco_venda = preco_venda + 0.01 WHERE id = 10")
    with connect(st.origin.url, "o") as o, connect(store.url, "l") as s:
        src, tgt = sides_for(plan, "receive", o, s, 1000)
        got, want = bucket_sums(tgt, b), bucket_sums(src, b)
    assert [k for k in want if want[k] != got.get(k)] == [(10 - 1) // b.step]


def test_an_idle_check_aggregates_one_window_and_goes_round_the_table(demo):
    """A table larger than ``check_window_rows`` is aggregated one window per check, the next
    window at the next check: an idle check costs the same whatever the table's size, and a row
    edited behind the sync's back is found within one round of windows."""
    st = demo.model_copy(update={"check_window_rows": 20})
    unit = produtos(st)
    table = unit[0]
    store_url = st.store("loja_01").url
    hi = rows(store_url, "SELECT max(id) FROM produto")[0][0]
    execute(st.origin.url, "UPDATE produtos SET atualizado_em = :t WHERE id = :i", {"t": dt.datetime(2020, 1, 1), "i": hi})
    sync_unit(st, "loja_01", unit)           # outside any cursor window from now on
    windows = -(-hi // 20)
    assert windows >= 3
    execute(store_url, "UPDATE produto SET preco_venda = 0.01 WHERE id = :i", {"i": hi})   # the last window
    seen = []
    for _ in range(windows):
        r = sync_unit(st, "loja_01", unit)[0]
        assert r.changed == 0
        a = _check(st, r, table)
        assert a.detail["faixas_da_tabela"] == windows and a.detail["faixas_conferidas_no_banco"] == 1
        seen.append(a.passed)
        if not a.passed:
            assert a.detail["diferentes"] == 1 and a.marked
            break
    assert seen[-1] is False and all(seen[:-1]), seen
    assert len(seen) <= windows
    r = sync_unit(st, "loja_01", unit)[0]            # the mark: a full diff repairs the row
    assert r.repaired and r.updated == 1


def test_a_check_after_writes_counts_the_whole_table(demo):
    """Rows the run wrote: the whole-table count is compared too, so a row deleted at the store
    outside this check's window still fails it."""
    st = demo.model_copy(update={"check_window_rows": 20})
    unit = produtos(st)
    store_url = st.store("loja_01").url
    hi = rows(store_url, "SELECT max(id) FROM produto")[0][0]
    execute(st.origin.url, "UPDATE produtos SET atualizado_em = :t WHERE id = :i", {"t": dt.datetime(2020, 1, 1), "i": hi})
    sync_unit(st, "loja_01", unit)
    execute(store_url, "DELETE FROM produto WHERE id = :i", {"i": hi})   # behind the sync's back
    execute(st.origin.url, "UPDATE produtos SET preco = preco + 1, atualizado_em = :t WHERE id = 1",
            {"t": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)})
    r = sync_unit(st, "loja_01", unit)[0]
    assert r.updated == 1
    a = _check(st, r, unit[0])
    assert a.source_rows == a.target_rows + 1 and not a.passed and a.marked
