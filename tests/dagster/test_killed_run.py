"""A run killed with its process (kill -9) leaves its store skipped by every tick until Dagster's
run monitoring ends it; then the schedule requests the store again and it syncs.

Dagster's DefaultRunLauncher cannot check a run worker's health, so the monitoring pass ends a
dead STARTED run when it passes its ``dagster/max_runtime`` (``run_timeout_minutes``): the clock
of the monitoring function is moved past that limit instead of waiting for it."""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from dagster import DagsterRunStatus, RunRequest, RunsFilter, SkipReason, build_schedule_context, build_sensor_context
from dagster._daemon.monitoring import run_monitoring

from sinc_pipeline import build_defs
from sinc_pipeline.cli.instance import get_instance
from sinc_pipeline.defs.alerts import run_stores
from sinc_pipeline.defs.orphans import SENSOR, fail_orphans

from ..helpers import rows, small_demo

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("killed_run_worker.py")
JOB = "receber_dados"


def requested_stores(result) -> set[str]:
    """The stores a schedule evaluation asks for: one request per store (partition) or one
    request listing many (run config ``lojas``); a SkipReason asks for none."""
    if isinstance(result, RunRequest):
        reqs = [result]
    elif result is None or isinstance(result, SkipReason):
        reqs = []
    else:
        reqs = [r for r in result if isinstance(r, RunRequest)]
    out: set[str] = set()
    for req in reqs:
        out |= set(run_stores(dict(req.tags or {}, **({"dagster/partition": req.partition_key}
                                                      if req.partition_key else {})), req.run_config))
    return out


def _evaluate(defs, instance) -> set[str]:
    when = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    ctx = build_schedule_context(instance=instance, scheduled_execution_time=when)
    return requested_stores(defs.get_schedule_def(JOB)(ctx))


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 180) -> None:
    end = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early: {proc.stdout.read()}")
        if time.monotonic() > end:
            raise AssertionError("worker never reached the store's write")
        time.sleep(0.2)


def _killed_run(make_db, tmp_path, monkeypatch):
    """A receive run of loja_01 in its own process, killed with SIGKILL mid-write."""
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    cfg = tmp_path / "sinc.yaml"
    cfg.write_text(yaml.safe_dump(st.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    home, store = Path(st.dagster_home), st.store("loja_01")
    env = dict(os.environ, DAGSTER_HOME=str(home), SINC_CONFIG=str(cfg))
    marker = tmp_path / "bloqueado"
    proc = subprocess.Popen([sys.executable, str(WORKER), str(marker), store.url, "run", JOB, "--store", store.id,
                             "--config", str(cfg)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(marker, proc)
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        instance = get_instance(home)
        assert "run_monitoring" in (home / "dagster.yaml").read_text()
        [record] = instance.get_run_records(filters=RunsFilter(job_name=JOB))
        assert record.dagster_run.status == DagsterRunStatus.STARTED
        os.kill(proc.pid, signal.SIGKILL)                       # the machine "reboots" mid-run
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    defs = build_defs(st)
    run_id = record.dagster_run.run_id
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED   # nobody told Dagster
    assert store.id not in _evaluate(defs, instance)                           # so every tick skips it

    return st, cfg, env, instance, record, store, defs


def _syncs_again(defs, instance, store, cfg, env, st) -> None:
    assert store.id in _evaluate(defs, instance)                               # requested again
    done = subprocess.run([sys.executable, "-m", "sinc_pipeline", "run", JOB, "--store", store.id,
                           "--config", str(cfg)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(store.url, "SELECT COUNT(*) FROM produto") == rows(st.origin.url, "SELECT COUNT(*) FROM produtos")


def test_killed_run_is_failed_by_monitoring_and_its_store_syncs_again(make_db, tmp_path, monkeypatch):
    st, cfg, env, instance, record, store, defs = _killed_run(make_db, tmp_path, monkeypatch)
    run_id = record.dagster_run.run_id
    # Dagster's monitoring pass, with its clock past the run's dagster/max_runtime
    limit = float(record.dagster_run.tags["dagster/max_runtime"])
    later = time.time() + limit + 60
    monkeypatch.setattr(run_monitoring, "get_current_timestamp", lambda: later)
    run_monitoring.monitor_started_run(instance, None, instance.get_run_record_by_id(run_id),
                                       logging.getLogger("monitoramento"))
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    monkeypatch.undo()

    _syncs_again(defs, instance, store, cfg, env, st)


def test_orphan_sensor_fails_the_dead_run_at_once(make_db, tmp_path, monkeypatch):
    st, cfg, env, instance, record, store, defs = _killed_run(make_db, tmp_path, monkeypatch)
    run_id = record.dagster_run.run_id
    sensor = defs.get_sensor_def(SENSOR)
    assert sensor.default_status.value == "RUNNING"
    result = sensor(build_sensor_context(instance=instance))
    assert "1 execução(ões) órfã(s)" in result.skip_message
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    assert fail_orphans(instance) == []                                        # once
    _syncs_again(defs, instance, store, cfg, env, st)
