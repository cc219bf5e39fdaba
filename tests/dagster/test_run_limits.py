"""Runs that die or hang free their store: run monitoring in the dagster.yaml the CLI writes,
a time limit on every job, tick retention."""
from __future__ import annotations

import pytest
from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.instance import DAGSTER_YAML, ensure_home
from sinc_pipeline.defs.tags import LONG_JOBS, MAX_RUNTIME_TAG
from tests.helpers import small_demo


@pytest.fixture
def demo(make_db, tmp_path):
    return small_demo(make_db, "sqlite", "sqlite", tmp_path)


def test_the_instance_the_cli_writes_monitors_runs_and_keeps_ticks_a_few_days(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = ensure_home(tmp_path / "dagster")
    with DagsterInstance.from_config(str(home)) as instance:     # validates the whole file
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_start_timeout_seconds == 180
        assert instance.get_settings("retention")["schedule"]["purge_after_days"]["skipped"] == 1


def test_an_older_file_of_ours_gets_the_monitoring_section_once(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    old = tmp_path / "antigo"
    old.mkdir()
    (old / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    ensure_home(old)
    ensure_home(old)
    text = (old / "dagster.yaml").read_text(encoding="utf-8")
    assert text.count("run_monitoring:") == 1 and text.count("python_logs:") == 1


def test_every_job_has_a_time_limit_from_the_config(demo):
    settings = demo.model_copy(update={"run_timeout_minutes": 7, "long_run_timeout_minutes": 90})
    defs = build_defs(settings)
    jobs = {j.name: j for j in defs.resolve_all_job_defs() if not j.name.startswith("__")}
    assert {"forcar_atualizacao", "enviar_dados", "receber_dados", "gerar_base_dados"} <= set(jobs)
    for name, job in jobs.items():
        assert job.tags[MAX_RUNTIME_TAG] == str((90 if name in LONG_JOBS else 7) * 60), name


def test_rows_with_a_cursor_in_the_future_make_the_check_warn(demo):
    from dagster import AssetCheckSeverity

    from sinc_pipeline.defs.sync_assets import check_result
    from sinc_pipeline.sync.verify import Agreement
    table = next(t for t in demo.tables if t.cursor)
    ok = check_result(table, Agreement(table.name, True, 5, 5, "a", "a"))
    assert ok.passed
    warned = check_result(table, Agreement(table.name, True, 5, 5, "a", "a", future_rows=2))
    assert not warned.passed and warned.severity == AssetCheckSeverity.WARN and "futuro" in warned.description
