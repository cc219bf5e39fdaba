"""The core's warnings (a slower path taken) show in the run's log, once per table and run."""
from __future__ import annotations

import logging

import pytest
from dagster import DagsterInstance, instance_for_test
from sqlalchemy.engine import make_url

from sinc_pipeline import build_defs
from sinc_pipeline.cli.instance import DAGSTER_YAML, ensure_home
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.sync import unit

from ..helpers import small_demo

FAILED = "Leitura rápida (ADBC) falhou para a tabela"


class FailingFastReader:
    def __init__(self, url: str):
        self.url, self.label = url, make_url(url).render_as_string(hide_password=True)

    def read(self, *args, **kwargs):
        raise RuntimeError("leitor ADBC simulado fora do ar")

    def close(self):
        pass


@pytest.fixture
def demo(make_db, tmp_path, monkeypatch):
    monkeypatch.setattr(unit, "open_fast_reader", FailingFastReader)   # the sync's and the check's readers
    return small_demo(make_db, "sqlite", "sqlite", tmp_path)


def _warnings(instance, run_id: str) -> list[str]:
    return [e.user_message for e in instance.all_logs(run_id)
            if e.dagster_event is None and e.level == logging.WARNING and FAILED in e.user_message]


def _once_per_table_and_database(messages: list[str], demo) -> None:
    """One warning per table of the send unit and database (origin, store), though the sync and
    its check read each table more than once."""
    label = lambda url: make_url(url).render_as_string(hide_password=True)  # noqa: E731
    sends = [t for t in demo.tables if t.direction == "send"]
    expected = [f"{FAILED} {name!r} do banco {label(url)};" for t in sends
                for name, url in ((t.name, demo.origin.url), (t.target_name, demo.store("loja_01").url))]
    assert len(messages) == len(expected) == 6, messages
    assert all(sum(e in m for m in messages) == 1 for e in expected), messages
    assert all("leitor ADBC simulado fora do ar" in m for m in messages)


def test_warnings_are_forwarded_when_the_instance_does_not_capture_them(demo):
    defs = build_defs(demo)
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "enviar_dados", "loja_01", {}, instance)
        assert res.success, res.error
        _once_per_table_and_database(_warnings(instance, res.run_id), demo)   # sync + check read each twice


def test_warnings_are_captured_by_an_instance_that_manages_the_logger(demo):
    defs = build_defs(demo)
    with instance_for_test(overrides={"python_logs": {"managed_python_loggers": ["sinc_pipeline"]}}) as instance:
        res = run_job(defs, "enviar_dados", "loja_01", {}, instance)
        assert res.success, res.error
        _once_per_table_and_database(_warnings(instance, res.run_id), demo)   # not twice: no forwarding too


def test_the_cli_instance_captures_the_logger(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = ensure_home(tmp_path / "novo")
    assert "managed_python_loggers" in (home / "dagster.yaml").read_text(encoding="utf-8")
    old = tmp_path / "antigo"
    old.mkdir()
    (old / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")     # written before the section existed
    ensure_home(old)
    text = (old / "dagster.yaml").read_text(encoding="utf-8")
    assert text.startswith(DAGSTER_YAML) and text.count("python_logs:") == 1
    ensure_home(old)
    assert (old / "dagster.yaml").read_text(encoding="utf-8") == text     # idempotent
    own = tmp_path / "proprio"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    ensure_home(own)
    assert (own / "dagster.yaml").read_text(encoding="utf-8") == "telemetry:\n  enabled: false\n"   # not ours
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        assert "sinc_pipeline" in instance.managed_python_loggers
