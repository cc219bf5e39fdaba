"""A sharded tick (``tick.shards``): still one run, a step per shard, and per store the same
results as the one-op tick; a failing store fails the run naming it, the others keep theirs."""
from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_tick
from sinc_pipeline.settings import parse_settings

from ..helpers import demo_raw, many_stores

N = 6


def _settings(make_db, tmp_path, **tick):
    raw = demo_raw(make_db, "sqlite", "sqlite", tmp_path, stores=many_stores(N))
    # one store at a time against the SQLite origin: concurrent sends to one SQLite file can meet
    # "database is locked" (see the report of this branch); the pools still run 2 stores at once
    raw["tick"] = {"workers": 2, "origin_connections": 1, **tick}
    return parse_settings(raw)


def _per_store(out) -> dict:
    """What a store's summary says, without times and run ids."""
    return {s.store: (s.success, s.error, sorted(s.checks.items()),
                      {a: (c.mode, c.compared, c.inserted, c.updated, c.deleted, c.held) for a, c in s.syncs.items()})
            for s in out}


def test_three_shards_give_each_store_what_one_op_gives_it(make_db, tmp_path):
    one = _settings(make_db, tmp_path / "um")
    three = _settings(make_db, tmp_path / "tres", shards=3)
    assert not one.tick.sharded and three.tick.sharded
    results = {}
    for name, st in (("um", one), ("tres", three)):
        defs = build_defs(st)
        stores = [s.id for s in st.stores]
        with DagsterInstance.ephemeral() as instance:
            recv = run_tick(defs, "receber_dados", stores, {}, instance)
            send = run_tick(defs, "enviar_dados", stores, {}, instance)
            steps = {ev.step_key for r in instance.get_runs() for ev in instance.all_logs(r.run_id)
                     if ev.dagster_event and ev.dagster_event.event_type == DagsterEventType.STEP_SUCCESS}
            assert len(instance.get_runs()) == 2                        # one run per tick
        assert len({s.run_id for s in recv}) == 1
        results[name] = (_per_store(recv), _per_store(send), steps)
    assert results["tres"][0] == results["um"][0] and results["tres"][1] == results["um"][1]
    recv = results["tres"][0]
    assert all(ok for ok, *_ in recv.values()) and all(syncs for *_, syncs in recv.values())
    assert any(c[2] for *_, syncs in recv.values() for c in syncs.values())   # the demo's stores had work to do
    assert results["um"][2] == {"rodada_recebimento", "rodada_envio"}
    assert {"lote_recebimento[lote_1]", "lote_recebimento[lote_2]", "lote_recebimento[lote_3]",
            "resultado_recebimento", "lote_envio[lote_3]", "resultado_envio"} <= results["tres"][2]


def test_a_failing_store_in_a_shard_fails_the_run_naming_it_and_keeps_the_others(make_db, tmp_path):
    raw = demo_raw(make_db, "sqlite", "sqlite", tmp_path, stores=many_stores(4))
    raw["stores"][2]["url"] = f"sqlite:///{tmp_path}/nao_existe/loja.db"
    raw["tick"] = {"shards": 2}
    st = parse_settings(raw)
    with DagsterInstance.ephemeral() as instance:
        out = run_tick(build_defs(st), "receber_dados", [s.id for s in st.stores], {}, instance)
        run = instance.get_runs()[0]
        failures = [ev.dagster_event for ev in instance.all_logs(run.run_id)
                    if ev.dagster_event and ev.dagster_event.event_type == DagsterEventType.STEP_FAILURE]
    by = {s.store: s for s in out}
    assert not by["loja_03"].success and "nao_existe" in by["loja_03"].error
    assert all(by[s].success and by[s].assets for s in ("loja_01", "loja_02", "loja_04"))
    assert run.status.value == "FAILURE" and [f.step_key for f in failures] == ["resultado_recebimento"]
    assert "loja_03" in failures[0].event_specific_data.user_failure_data.description


def test_simular_reaches_every_shard_and_nothing_is_written(make_db, tmp_path):
    st = _settings(make_db, tmp_path, shards=2)
    defs, stores = build_defs(st), [s.id for s in st.stores]
    with DagsterInstance.ephemeral() as instance:
        preview = run_tick(defs, "receber_dados", stores, {"simular": True}, instance)   # --set simular=true
        real = run_tick(defs, "receber_dados", stores, {}, instance)
    assert all(s.success for s in preview + real)
    changes = lambda out: sum(c.inserted + c.updated + c.deleted for s in out for c in s.syncs.values())  # noqa: E731
    assert changes(real) > 0                     # the preview left the work to the real run
