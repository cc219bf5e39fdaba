"""Freshness checks on the sync assets (three intervals) and the sensor that runs them."""
from __future__ import annotations

import time

from dagster import AssetSelection, AssetSpec, DagsterEventType, DagsterInstance, Definitions, define_asset_job

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.defs.freshness import SENSOR, freshness_checks
from sinc_pipeline.defs.sync_assets import keys_for

from ..helpers import small_demo


def _evaluate(st, instance) -> dict[str, tuple[bool, float]]:
    """Run every freshness check once; {asset: (passed, lower bound timestamp)}."""
    checks = freshness_checks(st)
    job = define_asset_job("avaliar_atualizacao", selection=AssetSelection.checks(*checks))
    defs = Definitions(assets=[AssetSpec(k) for k in keys_for(st)], asset_checks=checks, jobs=[job])
    res = defs.resolve_job_def("avaliar_atualizacao").execute_in_process(instance=instance)
    assert res.success
    out = {}
    for ev in instance.all_logs(res.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        data = ev.dagster_event.event_specific_data
        out[data.asset_key.to_user_string()] = (data.passed, data.metadata["dagster/freshness_lower_bound_timestamp"].value)
    return out


def test_sync_assets_are_stale_after_three_intervals(make_db, tmp_path):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    st = st.model_copy(update={"intervals": st.intervals.model_copy(update={"send_minutes": 5, "receive_minutes": 10})})
    defs = build_defs(st)
    sensor = defs.get_sensor_def(SENSOR)
    assert sensor.default_status.value == "RUNNING"
    keys = {k.to_user_string() for k in keys_for(st)}
    with DagsterInstance.ephemeral() as instance:
        before = _evaluate(st, instance)
        assert set(before) == keys and not any(p for p, _ in before.values())    # never synced: stale
        now = time.time()
        send = [k for k in before if k.startswith("enviar_")][0]
        recv = [k for k in before if k.startswith("receber_")][0]
        assert abs((now - before[send][1]) - 15 * 60) < 120                       # 3 × 5 min
        assert abs((now - before[recv][1]) - 30 * 60) < 120                       # 3 × 10 min
        for job in ("enviar_dados", "receber_dados"):
            assert run_job(defs, job, st.stores[0].id, {}, instance).success
        after = _evaluate(st, instance)
        assert all(p for p, _ in after.values()), after


def test_a_sync_run_reevaluates_its_freshness(make_db, tmp_path):
    """The sensor does not re-run a failed freshness check: the run that syncs the table does
    (Dagster's design), so the sync jobs carry the check and it passes right after the sync."""
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    defs = build_defs(st)
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "receber_dados", st.stores[0].id, {}, instance)
        assert res.success
        fresh = [ev.dagster_event.event_specific_data
                 for ev in instance.all_logs(res.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
                 if ev.dagster_event.event_specific_data.check_name == "freshness_check"]
    assert {f.asset_key.to_user_string() for f in fresh} == {k.to_user_string() for k in keys_for(st, "receive")}
    assert all(f.passed for f in fresh)
