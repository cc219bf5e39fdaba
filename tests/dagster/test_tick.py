"""A tick of enviar_dados/receber_dados: every store in ONE run, each with its own results on its
partition; a failing store keeps the others' results; a store busy in another run is waited for
(``tick.lock_wait_seconds``), then skipped."""
from __future__ import annotations

import threading

from dagster import AssetKey, DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_tick
from sinc_pipeline.core.locks import store_lock

from ..helpers import small_demo


def _demo(make_db, tmp_path, **tick):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    return st.model_copy(update={"tick": st.tick.model_copy(update=tick)})


def test_one_run_for_every_store_and_a_failing_store_keeps_the_others(make_db, tmp_path):
    st = _demo(make_db, tmp_path)
    broken = st.stores[1].model_copy(update={"url": f"sqlite:///{tmp_path}/nao_existe/loja.db"})
    st = st.model_copy(update={"stores": [st.stores[0], broken]})
    defs = build_defs(st)
    with DagsterInstance.ephemeral() as instance:
        out = run_tick(defs, "receber_dados", [s.id for s in st.stores], {}, instance)
        assert len({s.run_id for s in out}) == 1                    # one run for the tick
        ok, bad = out
        assert ok.success and ok.assets and ok.checks
        assert not bad.success and "nao_existe" in (bad.error or "")   # its own error, naming its database
        mat = instance.get_latest_materialization_event(AssetKey("receber_produtos"))
        assert mat.dagster_event.partition == ok.store         # recorded on the store's partition
        assert instance.get_run_by_id(ok.run_id).status.value == "FAILURE"   # the run names the failure


def test_a_store_busy_in_another_run_is_waited_for_then_synced(make_db, tmp_path):
    st = _demo(make_db, tmp_path, lock_wait_seconds=30)
    defs = build_defs(st)
    store = st.stores[0].id
    held, release = threading.Event(), threading.Event()

    def other_run():
        with store_lock(st.dagster_home, store):
            held.set()
            release.wait(10)

    t = threading.Thread(target=other_run)
    t.start()
    held.wait(5)
    threading.Timer(1.0, release.set).start()
    with DagsterInstance.ephemeral() as instance:
        out = run_tick(defs, "enviar_dados", [store], {}, instance)
    t.join()
    assert out[0].success, out[0].error


def test_a_store_still_busy_after_the_wait_is_skipped_not_synced(make_db, tmp_path):
    st = _demo(make_db, tmp_path, lock_wait_seconds=0)
    defs = build_defs(st)
    store = st.stores[0].id
    with store_lock(st.dagster_home, store), DagsterInstance.ephemeral() as instance:
        out = run_tick(defs, "enviar_dados", [store, st.stores[1].id], {}, instance)
    busy, other = out
    assert not busy.success and "em andamento" in (busy.error or "")
    assert other.success and other.assets


def test_two_way_tables_sync_in_both_ticks(make_db, tmp_path):
    """A two-way table (the demo's ``clientes``) is merged by either tick: a store's edit reaches
    the origin at the next ``enviar_dados``, the origin's reaches the store at the next
    ``receber_dados``; recorded on the store's partition of ``sincronizar_clientes``."""
    import sqlalchemy as sa

    from sinc_pipeline.core.db import get_engine

    st = small_demo(make_db, "sqlite", "sqlite", tmp_path, customers_twoway=True)
    st = st.model_copy(update={"stores": st.stores[:1]})
    store = st.stores[0]
    loja_id = store.filter["loja_id"]
    defs = build_defs(st)
    o, s = get_engine(st.origin.url), get_engine(store.url)
    with DagsterInstance.ephemeral() as instance:
        assert run_tick(defs, "receber_dados", [store.id], {}, instance)[0].success   # the first merge
        with s.begin() as c:
            cid = c.execute(sa.text("SELECT MIN(id) FROM clientes")).scalar()
            c.execute(sa.text("UPDATE clientes SET telefone = '11 99999-0000' WHERE id = :i"), {"i": cid})
        out = run_tick(defs, "enviar_dados", [store.id], {}, instance)[0]
        assert out.success, out.error
        with o.connect() as c:
            assert c.execute(sa.text("SELECT telefone FROM clientes WHERE loja_id = :l AND id = :i"),
                             {"l": loja_id, "i": cid}).scalar() == "11 99999-0000"
        with o.begin() as c:
            c.execute(sa.text("UPDATE clientes SET limite_credito = 1234.56 WHERE loja_id = :l AND id = :i"),
                      {"l": loja_id, "i": cid})
        out = run_tick(defs, "receber_dados", [store.id], {}, instance)[0]
        assert out.success, out.error
        with s.connect() as c:
            assert str(c.execute(sa.text("SELECT limite_credito FROM clientes WHERE id = :i"),
                                 {"i": cid}).scalar()) == "1234.56"
        mat = instance.get_latest_materialization_event(AssetKey("sincronizar_clientes"))
        assert mat.dagster_event.partition == store.id
        assert mat.asset_materialization.metadata["atualizadas"].value >= 1
        assert any("sincronizar_clientes" in k for k in out.checks), out.checks
        assert all(c["passou"] for k, c in out.checks.items() if "sincronizar_clientes" in k), out.checks


def test_first_send_tick_of_many_stores_on_a_sqlite_origin(make_db, tmp_path):
    """Six stores sending at once to a new SQLite origin (no sinc_estado yet): each creates the
    state table or waits for the one creating it; none fails with "database is locked"."""
    from sinc_pipeline.settings import parse_settings

    from ..helpers import demo_raw, many_stores

    raw = demo_raw(make_db, "sqlite", "sqlite", tmp_path, stores=many_stores(6))
    raw["tick"] = {"workers": 6, "origin_connections": 6, "probe": False}
    st = parse_settings(raw)
    with DagsterInstance.ephemeral() as instance:
        out = run_tick(build_defs(st), "enviar_dados", [s.id for s in st.stores], {}, instance)
    assert [o.error for o in out if not o.success] == []
    assert len(out) == 6
