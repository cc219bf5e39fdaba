"""The fiscal gate's Dagster check: failing documents are listed in its metadata until fixed."""
from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance, MarkdownMetadataValue

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job

from ..engines.test_fiscal_gate import SALE, STORE, fiscal_doc, access_key, set_fiscal_doc
from ..helpers import small_demo


def _check_metadata(instance, run_id: str, check: str) -> dict:
    for ev in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        data = ev.dagster_event.event_specific_data
        if data.check_name == check:
            return {k: getattr(v, "value", v) for k, v in data.metadata.items()}
    raise AssertionError(f"check {check} not evaluated")


def _materialization_metadata(instance, run_id: str, asset: str) -> dict:
    for ev in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        mat = ev.dagster_event.event_specific_data.materialization
        if mat.asset_key.to_user_string() == asset:
            return dict(mat.metadata)
    raise AssertionError(f"{asset} not materialized")


def test_dagster_check_fails_listing_held_documents_then_passes(make_db, tmp_path):
    demo = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    original = fiscal_doc(demo.store(STORE).url, SALE)
    bad_key = access_key(demo, number=1)
    set_fiscal_doc(demo, SALE, numero=1, chave=bad_key)
    defs = build_defs(demo)
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "enviar_dados", STORE, {}, instance)
        assert res.success, res.error                                  # the rest of the run proceeds
        assert res.checks["enviar_documentos_fiscais:sem_documentos_em_quarentena"]["passou"] is False
        assert res.assets["enviar_documentos_fiscais"]["documentos_retidos"] == 1
        sent = _materialization_metadata(instance, res.run_id, "enviar_documentos_fiscais")
        listing = sent["documentos_retidos_lista"]
        assert isinstance(listing, MarkdownMetadataValue)                 # the gate's plain Markdown, shown as such
        assert listing.value.splitlines()[0] == "| documento | chave de acesso | venda | motivo |"
        assert bad_key in listing.value
        md = _check_metadata(instance, res.run_id, "sem_documentos_em_quarentena")
        assert md["documentos_retidos"] == 1
        assert bad_key in md["retidos"] and "modelo 65 série 11 nº 1" in md["retidos"]
        assert "número já usado na origem" in md["retidos"]
        # other stores are not affected
        other = run_job(defs, "enviar_dados", "loja_02", {}, instance)
        assert other.checks["enviar_documentos_fiscais:sem_documentos_em_quarentena"]["passou"] is True

        set_fiscal_doc(demo, SALE, numero=original["numero"], chave=original["chave"])
        res = run_job(defs, "enviar_dados", STORE, {}, instance)
        assert res.checks["enviar_documentos_fiscais:sem_documentos_em_quarentena"]["passou"] is True
        assert res.assets["enviar_vendas"]["inseridas"] == 1

