"""A password with '@', ':' and '/' given through ${VAR}: the URL still parses and connects, and
the password appears nowhere — not in the instance folder (run storage, event log, compute logs)
nor in what the GraphQL API answers for the run's logs (``logsForRun``)."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import instance_for_test

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.core.db import dispose_all
from sinc_pipeline.settings import parse_settings

from ..conftest import PG_ADMIN, _unavailable
from ..helpers import small_demo

PASSWORD = "Xq7@seg:re/do"
ENCODED = "Xq7%40seg%3Are%2Fdo"
LOGS_FOR_RUN = """
query ($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message }
        ... on ExecutionStepFailureEvent { error { message stack } failureMetadata { label description } }
      }
    }
    ... on PythonError { message }
  }
}
"""


def _graphql_logs(instance, run_id: str) -> str:
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster_graphql.test.utils import execute_dagster_graphql

    with WorkspaceProcessContext(instance, None) as process:
        result = execute_dagster_graphql(process.create_request_context(), LOGS_FOR_RUN, {"runId": run_id})
    assert not result.errors, result.errors
    assert result.data["logsForRun"]["__typename"] == "EventConnection"
    return json.dumps(result.data, ensure_ascii=False)


@pytest.fixture
def pg_role():
    """A PostgreSQL role with the password (set up before ``make_db``, so dropped after its
    databases; trust auth here: the password is not checked, the URL must still parse)."""
    role = f"sinc_r_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    except sa.exc.OperationalError as err:
        _unavailable("postgresql", err)          # with CI=true a failure, never a skip
    yield role
    dispose_all()
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
    admin.dispose()


def test_password_with_url_characters_connects_and_is_never_shown(pg_role, make_db, tmp_path, monkeypatch):
    role = pg_role
    demo = small_demo(make_db, "postgresql", "sqlite", tmp_path)
    raw = demo.model_dump()
    origin = sa.make_url(demo.origin.url)
    raw["origin"]["url"] = f"postgresql+psycopg://{role}:${{SINC_T_SENHA}}@{origin.host}:{origin.port}/{origin.database}"
    raw["stores"][1]["url"] = f"postgresql+psycopg://{role}:${{SINC_T_SENHA}}@127.0.0.1:1/nada"   # unreachable
    monkeypatch.setenv("SINC_T_SENHA", PASSWORD)
    st = parse_settings(raw)
    assert sa.make_url(st.origin.url).password == PASSWORD and ENCODED in st.origin.url
    home = tmp_path / "instancia"
    home.mkdir()
    defs = build_defs(st)
    with instance_for_test(temp_dir=str(home)) as instance:
        ok = run_job(defs, "enviar_dados", "loja_01", {}, instance)
        assert ok.success, ok.error                       # connected as the role, through the encoded URL
        bad = run_job(defs, "enviar_dados", "loja_02", {}, instance)
        assert not bad.success and "127.0.0.1:1" in str(bad.error) and "***" in str(bad.error)
        answers = _graphql_logs(instance, ok.run_id) + _graphql_logs(instance, bad.run_id)
    assert "127.0.0.1:1" in answers and f"{role}:***@" in answers      # the failure shows the URL, hidden
    files = [p for p in Path(home).rglob("*") if p.is_file()]
    assert files
    for secret in (PASSWORD, ENCODED, "seg:re/do"):
        assert secret not in answers
        leaks = [str(p) for p in files if secret.encode() in p.read_bytes()]
        assert leaks == [], (secret, leaks)
