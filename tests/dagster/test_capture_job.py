"""The instalar_captura job as the data team launches it: installs, reinstalls (idempotent),
removes with ``remover: true``, and a journal sync without it fails naming the job."""
from __future__ import annotations

import pytest
from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job

from ..engines.journal_helpers import journal_demo
from ..helpers import rows


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def _triggers(url: str) -> int:
    return rows(url, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'sinc_cap_%'")[0][0]


def test_instalar_captura_installs_reinstalls_and_removes(make_db, tmp_path, instance):
    st = journal_demo(make_db, "sqlite", "sqlite", tmp_path, install=False)
    defs = build_defs(st)
    job = defs.get_job_def("instalar_captura")
    assert "journal" in job.description
    failed = run_job(defs, "receber_dados", "loja_01", {}, instance)
    assert not failed.success and "instalar_captura" in failed.error
    first = run_job(defs, "instalar_captura", None, {}, instance)
    assert first.success
    sent = sum(1 for t in st.tables if t.capture == "journal" and t.direction == "send")
    assert _triggers(st.origin.url) == 6   # the origin's 2 journal tables × 3 events
    assert sent >= 2 and _triggers(st.store("loja_01").url) == 3 * sent
    assert run_job(defs, "instalar_captura", None, {}, instance).success
    assert _triggers(st.origin.url) == 6
    assert run_job(defs, "receber_dados", "loja_01", {}, instance).success
    assert run_job(defs, "instalar_captura", None, {"remover": True}, instance).success
    assert _triggers(st.origin.url) == 0 and _triggers(st.store("loja_02").url) == 0
    assert rows(st.origin.url, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sinc_alteracoes'")[0][0] == 0
