"""A SincError raised in an asset reaches Dagster as a Failure carrying the error's parts."""
from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance, Failure

from sinc_pipeline import build_defs
from sinc_pipeline.core.errors import ConfigError, DataError, SincError
from sinc_pipeline.defs.failures import as_failure, failures_as_dagster

from ..helpers import small_demo


def test_as_failure_keeps_the_parts_and_drops_missing_ones():
    err = DataError("Chave duplicada", where="tabela 'vendas'", hint="corrija a origem")
    f = as_failure(err)
    assert f.description == str(err) == "Chave duplicada (tabela 'vendas'). Dica: corrija a origem"
    md = {k: v.value for k, v in f.metadata.items()}
    assert md == {"tipo": "DataError", "codigo": "dados", "o_que": "Chave duplicada", "onde": "tabela 'vendas'",
                  "dica": "corrija a origem", "mensagem": str(err)}       # no valor, no causa: they are None
    problems = as_failure(ConfigError(["stores: vazio"], source="sinc.yaml")).metadata
    assert problems["problemas"].value == ["stores: vazio"] and problems["onde"].value == "sinc.yaml"


def test_failures_as_dagster_reraises_only_sinc_errors():
    try:
        with failures_as_dagster():
            raise SincError("falhou", value=0)
    except Failure as f:
        assert f.__cause__ is None and f.__suppress_context__
        assert f.metadata["valor"].value == "0"
    else:  # pragma: no cover
        raise AssertionError("no Failure raised")
    try:
        with failures_as_dagster():
            raise KeyError("x")
    except KeyError:
        pass


def test_sinc_error_in_an_asset_shows_as_failure_with_where_and_hint(make_db, tmp_path):
    demo = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    bad = demo.model_copy(update={"stores": [demo.stores[0].model_copy(update={
        "url": "postgresql+psycopg://sinc:s3gr3d0@127.0.0.1:1/nada"}), demo.stores[1]]})
    job = build_defs(bad).resolve_job_def("forcar_atualizacao")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, partition_key="loja_01", raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert failures, "the step did not fail"
    data = failures[0].event_specific_data.user_failure_data
    assert data is not None, "the SincError did not reach Dagster as a Failure"
    md = {k: v.value for k, v in data.metadata.items()}
    assert "127.0.0.1:1" in md["onde"] and "***" in md["onde"] and "s3gr3d0" not in str(md)
    assert "servidor" in md["dica"]
    assert md["codigo"] == "banco_inacessivel" and md["tipo"] == "DatabaseUnreachable"
    assert "valor" not in md and data.description == md["mensagem"]
