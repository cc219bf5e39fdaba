"""limpeza_dagster: old runs and their events go, except the runs holding a partition's latest
materialization or check evaluation; the counts are the op's output metadata."""
from __future__ import annotations

import datetime as dt

from dagster import (AssetCheckResult, DagsterEventType, DagsterInstance, StaticPartitionsDefinition, asset,
                     asset_check, materialize)

from sinc_pipeline import build_defs
from sinc_pipeline.defs.hygiene import JOB, purge_old_runs
from sinc_pipeline.settings import parse_settings

PARTS = StaticPartitionsDefinition(["loja_01", "loja_02"])


@asset(partitions_def=PARTS)
def vendas():
    return 1


@asset_check(asset=vendas, partitions_def=PARTS)
def confere(context):
    return AssetCheckResult(passed=True)


@asset
def catalogo():
    return 1


def _run(instance, assets, partition=None):
    res = materialize(assets, instance=instance, partition_key=partition)
    assert res.success
    return res.run_id


def test_purge_keeps_the_latest_state_of_every_partition(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        a1 = _run(instance, [vendas, confere], "loja_01")
        b1 = _run(instance, [vendas], "loja_02")
        c1 = _run(instance, [catalogo])
        a2 = _run(instance, [vendas], "loja_01")             # newer materialization of loja_01, no check
        c2 = _run(instance, [catalogo])
        events_a2 = len(instance.all_logs(a2))
        assert events_a2 > 0
        # 31 days from now every run is older than 30 days
        counts = purge_old_runs(instance, 30, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31))
        left = {r.run_id for r in instance.get_runs()}
        # a1 keeps loja_01's latest check; b1 loja_02's materialization; a2 loja_01's; c2 catalogo's
        assert left == {a1, b1, a2, c2}
        assert counts["execucoes_removidas"] == 1 and counts["execucoes_antigas_mantidas"] == 4
        assert counts["eventos_removidos"] > 0 and instance.all_logs(c1) == []
        # nothing younger than the limit goes
        assert purge_old_runs(instance, 30)["execucoes_removidas"] == 0


def test_limpeza_job_reports_counts_as_metadata(make_db, tmp_path):
    origin, store = make_db("sqlite"), make_db("sqlite")
    st = parse_settings({"origin": {"url": origin}, "dagster_home": str(tmp_path / "dagster"),
                         "retention": {"runs_days": 1},
                         "stores": [{"id": "loja_01", "url": store, "filter": {"loja_id": 1},
                                     "cnpj": "11222333000181"}],
                         "tables": [{"name": "produtos", "direction": "receive", "key": ["id"]}]})
    defs = build_defs(st)
    assert defs.get_schedule_def("limpeza_dagster_diaria").default_status.value == "RUNNING"
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        old = _run(instance, [catalogo])
        instance.add_run_tags(old, {"x": "y"})
        # make the run two days old: rewrite its update timestamp in the run storage
        two_days_ago = dt.datetime.now() - dt.timedelta(days=2)
        with instance.run_storage.connect() as conn:
            conn.exec_driver_sql("UPDATE runs SET update_timestamp = ?, create_timestamp = ? WHERE run_id = ?",
                                 (two_days_ago, two_days_ago, old))
        _run(instance, [catalogo])                                   # newer: the old one holds nothing now
        res = defs.get_job_def(JOB).execute_in_process(instance=instance)
        assert res.success
        out = [e for e in instance.all_logs(res.run_id, of_type=DagsterEventType.STEP_OUTPUT)]
        md = out[0].dagster_event.event_specific_data.metadata
        assert md["execucoes_removidas"].value == 1 and md["eventos_removidos"].value > 0
        assert old not in {r.run_id for r in instance.get_runs()}
