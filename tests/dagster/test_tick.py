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
