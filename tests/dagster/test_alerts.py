"""alerta_falhas: a failed run is written to the failures store (store, job, error), logged, and
POSTed to the webhook; a webhook that does not answer is logged and the sensor does not raise."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context, job, op

from sinc_pipeline import build_defs
from sinc_pipeline.defs.alerts import SENSOR, run_stores
from sinc_pipeline.health.failures import read_failures
from sinc_pipeline.settings import parse_settings


@op
def quebra():
    raise RuntimeError("loja não respondeu")


@job
def receber_teste():
    quebra()


class _Sink(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Sink.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    _Sink.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerta", _Sink.received
    server.shutdown()
    server.server_close()


def _settings(tmp_path, origin, store, alerts):
    return parse_settings({"origin": {"url": origin}, "dagster_home": str(tmp_path / "dagster"), "alerts": alerts,
                           "stores": [{"id": "loja_01", "url": store, "filter": {"loja_id": 1},
                                       "cnpj": "11222333000181"}],
                           "tables": [{"name": "produtos", "direction": "receive", "key": ["id"]}]})


def _evaluate(defs, instance, tags):
    res = receber_teste.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
    assert not res.success
    run = instance.get_run_by_id(res.run_id)
    failure = [e for e in instance.all_logs(res.run_id, of_type=DagsterEventType.RUN_FAILURE)][0].dagster_event
    sensor = defs.get_sensor_def(SENSOR)
    ctx = build_run_status_sensor_context(sensor_name=SENSOR, dagster_event=failure, dagster_instance=instance,
                                          dagster_run=run).for_run_failure()
    sensor(ctx)
    return res.run_id


def test_failure_is_stored_and_posted(make_db, tmp_path, webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("SINC_WEBHOOK", url)
    st = _settings(tmp_path, make_db("sqlite"), make_db("sqlite"), {"webhook_url": "${SINC_WEBHOOK}"})
    assert st.alerts.webhook_url == url
    defs = build_defs(st)
    assert defs.get_sensor_def(SENSOR).default_status.value == "RUNNING"
    with DagsterInstance.ephemeral() as instance:
        run_id = _evaluate(defs, instance, {"dagster/partition": "loja_01"})
    [stored] = read_failures(st.dagster_home)
    assert stored.run_id == run_id and stored.stores == ["loja_01"] and stored.job == "receber_teste"
    assert "loja não respondeu" in stored.error
    [(ctype, body)] = received
    assert ctype.startswith("application/json")
    assert body["stores"] == ["loja_01"] and body["job"] == "receber_teste" and "loja não respondeu" in body["error"]
    assert "loja_01" in body["mensagem"]


def test_dead_webhook_is_logged_not_raised(make_db, tmp_path):
    st = _settings(tmp_path, make_db("sqlite"), make_db("sqlite"),
                   {"webhook_url": "http://127.0.0.1:9/nada", "timeout_seconds": 1})
    defs = build_defs(st)
    with DagsterInstance.ephemeral() as instance:
        _evaluate(defs, instance, {})
    [stored] = read_failures(st.dagster_home)
    assert stored.stores == [] and "loja não respondeu" in stored.error


def test_stores_from_partition_tag_or_run_config():
    assert run_stores({"dagster/partition": "loja_02"}, {"ops": {"x": {"config": {"lojas": ["loja_09"]}}}}) == ["loja_02"]
    cfg = {"ops": {"sincronizar": {"config": {"lojas": ["loja_01", "loja_03", "loja_01"]}}}}
    assert run_stores({}, cfg) == ["loja_01", "loja_03"]
    assert run_stores({}, {}) == []
