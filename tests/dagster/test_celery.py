"""One tick on the Celery executor: two real Celery workers (started here, stopped by PID), the
broker on 127.0.0.1 (RabbitMQ; Redis in the second case), a temporary instance and a config of
10 SQLite stores. ONE run, its shards run by both workers, every store in step afterwards.

Outside CI a broker that is down skips; with CI=true it fails (``.ci/run`` starts both)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance

from sinc_pipeline.defs.tick_shards import PROCESS_KEY, SHARD_OP
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.sync.verify import verify_table

from ..conftest import IN_CI
from ..helpers import demo_raw, many_stores

ROOT = Path(__file__).resolve().parents[2]
BROKERS = {"rabbitmq": ("127.0.0.1", 5672), "redis": ("127.0.0.1", 6379)}
READY_S, RUN_S, STOP_S = 30, 120, 10


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _need(name: str) -> None:
    if not _reachable(*BROKERS[name]):
        msg = f"{name} indisponível em {BROKERS[name][0]}:{BROKERS[name][1]} para o teste do executor Celery"
        if IN_CI:
            pytest.fail(msg + " (CI=true: serviço ausente é falha, não skip)")
        pytest.skip(msg)


def _stop(procs: list[subprocess.Popen]) -> None:
    """Warm shutdown (SIGTERM) of the processes we started, all at once; SIGKILL by PID if one hangs."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(STOP_S)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(STOP_S)


def _wait_ready(workers: list[tuple[subprocess.Popen, Path]]) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        for proc, log in workers:
            if proc.poll() is not None:
                pytest.fail(f"worker Celery terminou (código {proc.returncode}):\n{log.read_text()[-3000:]}")
        if all("ready." in log.read_text(errors="replace") for _, log in workers):
            return
        time.sleep(0.3)
    pytest.fail("workers Celery não ficaram prontos:\n" + "\n".join(log.read_text()[-2000:] for _, log in workers))


def _drop_queue(settings, queue: str) -> None:
    """The test's own queue, deleted at the end (best effort: the broker is shared)."""
    try:
        from kombu import Connection
        with Connection(settings.tick.celery.broker, connect_timeout=3) as conn:
            conn.default_channel.queue_delete(queue)
    except Exception:  # noqa: BLE001 - cleanup only
        pass


CASES = {   # broker, backend
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", "rpc://"),
    "redis": ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_tick_sharded_over_two_celery_workers(make_db, tmp_path, case):
    _need(case)
    broker, backend = CASES[case]
    queue = f"sinc_teste_{uuid.uuid4().hex[:8]}"   # ours alone: the broker may serve other work
    raw = demo_raw(make_db, "sqlite", "sqlite", tmp_path, stores=many_stores(10))
    raw["tick"] = {"shards": 4, "workers": 2, "executor": "celery",
                   "celery": {"broker": broker, "backend": backend, "queue": queue,
                              # a busy worker takes no second task: the shards spread over both
                              "config_source": {"task_acks_late": True, "worker_prefetch_multiplier": 1,
                                                # rpc:// reply queues left on the shared broker expire
                                                "result_expires": 60}}}
    settings = parse_settings(raw)
    cfg = tmp_path / "sinc.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    home = Path(settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SINC_CONFIG": str(cfg), "DAGSTER_HOME": str(home),
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    workers: list[tuple[subprocess.Popen, Path]] = []
    try:
        for i in (1, 2):
            log = tmp_path / f"worker{i}.log"
            with open(log, "wb") as fh:   # solo pool: the task runs in the worker's own process (its PID)
                proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "sinc_pipeline.defs.celery_app",
                                         "worker", "-P", "solo", "-Q", queue, "-n", f"w{i}_{queue}@%h",
                                         "--without-gossip", "--without-mingle", "-l", "INFO"],
                                        cwd=tmp_path, env=env, stdout=fh, stderr=subprocess.STDOUT)
            workers.append((proc, log))
        _wait_ready(workers)
        try:
            cli = subprocess.run([sys.executable, "-m", "sinc_pipeline", "run", "receber_dados", "--json",
                                  "--executor", "--config", str(cfg)],
                                 cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_S)
        except subprocess.TimeoutExpired as err:   # subprocess.run has killed the CLI (its PID)
            pytest.fail(f"a rodada não terminou em {RUN_S} s: {err.stderr}\n"
                        + "\n".join(log.read_text()[-2000:] for _, log in workers))
    finally:
        _stop([proc for proc, _ in workers])
        _drop_queue(settings, queue)
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    runs = json.loads(cli.stdout)["execucoes"]
    assert sorted(r["loja"] for r in runs) == [s.id for s in settings.stores]
    assert all(r["sucesso"] and r["ativos"] for r in runs), [r["erro"] for r in runs]
    assert len({r["run_id"] for r in runs}) == 1                           # ONE run for the tick

    with DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_runs()) == 1
        run_id = runs[0]["run_id"]
        events = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event]
    shard_pids = {ev.step_key: int(str(ev.event_specific_data.metadata[PROCESS_KEY].value).rsplit(":", 1)[1])
                  for ev in events if ev.event_type == DagsterEventType.STEP_OUTPUT
                  and ev.step_key.startswith(SHARD_OP["receive"])}
    assert len(shard_pids) == 4                                            # four shards of the 10 stores
    assert set(shard_pids.values()) == {p.pid for p, _ in workers}         # both workers ran shards
    hosts = {ev.step_key: ev.event_specific_data.metadata["Celery worker"].value for ev in events
             if ev.event_type == DagsterEventType.ENGINE_EVENT and "Celery worker" in ev.event_specific_data.metadata}
    assert {h.split("@")[0] for k, h in hosts.items() if k in shard_pids} == {f"w1_{queue}", f"w2_{queue}"}

    for store in settings.stores:                                          # every store in step
        for table in settings.tables:
            if table.direction == "receive":
                agreement = verify_table(settings, store.id, table)
                assert agreement.passed, (store.id, table.name, agreement.detail)
