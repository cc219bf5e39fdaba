"""``lacunas_numeracao`` over a known set of documents at the origin, on every engine."""
from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from sinc_pipeline.fiscal.rules import build_access_key
from sinc_pipeline.fiscal.report import KIND_GAP, KIND_PENDING, build_report, report_table, write_report

from ..conftest import ENGINES
from ..helpers import execute, small_demo

NOW = dt.datetime(2026, 11, 28, 12, 0)
# série 11 (loja_01's NFC-e): numbers 1-3, 5-6, 9-10 -> gaps 4 and 7-8
NUMBERS = {1: NOW - dt.timedelta(days=45), 2: NOW - dt.timedelta(days=44), 3: dt.datetime(2026, 10, 15, 9),
           5: dt.datetime(2026, 10, 20, 9), 6: dt.datetime(2026, 11, 20, 9), 9: NOW - dt.timedelta(days=2),
           10: NOW - dt.timedelta(days=1)}


def load_documents(settings, now: dt.datetime, numbers=NUMBERS) -> None:
    """Replace the origin's documents by a known set for loja_01."""
    store = settings.store("loja_01")
    url = settings.origin.url
    execute(url, "DELETE FROM documentos_fiscais")
    docs = [(i, 65, 11, n, 1, "autorizada", at) for i, (n, at) in enumerate(numbers.items(), start=1)]
    shift = now - NOW
    docs = [(i, m, s, n, tp, st, at + shift) for i, m, s, n, tp, st, at in docs]
    docs += [(100, 65, 21, 1, 9, "contingencia", now - dt.timedelta(hours=30)),     # late
             (101, 65, 21, 2, 9, "Contingência", now - dt.timedelta(hours=2)),      # pending, on time
             (102, 65, 21, 3, 9, "autorizada", now - dt.timedelta(hours=50))]      # transmitted already
    for i, model, series, number, tp, status, at in docs:
        key = build_access_key(35, at.strftime("%y%m"), store.cnpj, model, series, number, tp, 12345678)
        execute(url, "INSERT INTO documentos_fiscais (loja_id, id, venda_id, cnpj, modelo, serie, numero, tp_emis, "
                     "chave, status, emitido_em, atualizado_em) VALUES (1, :i, NULL, :c, :m, :s, :n, :t, :k, :st, "
                     ":at, :at)",
                {"i": i, "c": store.cnpj, "m": model, "s": series, "n": number, "t": tp, "k": key, "st": status,
                 "at": at})


@pytest.mark.parametrize("engine", ENGINES)
def test_gaps_and_pending_contingency(engine, make_db, tmp_path):
    settings = small_demo(make_db, engine, "sqlite", tmp_path)
    load_documents(settings, NOW)
    report = build_report(settings, now=NOW)
    assert report.documents == len(NUMBERS) + 3
    gaps = report.gaps.to_dict("records")
    assert [(g["serie"], g["inicio"], g["fim"], g["quantidade"]) for g in gaps] == [(11, 4, 4, 1), (11, 7, 8, 2)]
    assert {g["loja"] for g in gaps} == {"loja_01"} and {g["cnpj"] for g in gaps} == {settings.store("loja_01").cnpj}
    # deadline from the document just before the gap: nº 3 in October -> 10 Nov (18 days late);
    # nº 6 in November -> 10 Dec (12 days left)
    assert [(g["prazo_inutilizacao"], g["dias_restantes"]) for g in gaps] == \
        [(dt.date(2026, 11, 10), -18), (dt.date(2026, 12, 10), 12)]
    assert report.overdue_gaps == 1
    pending = report.pending.to_dict("records")
    assert [(p["numero"], p["idade_horas"], bool(p["atrasado"])) for p in pending] == [(1, 30.0, True), (2, 2.0, False)]
    assert {p["loja"] for p in pending} == {"loja_01"} and report.late_pending == 1

    path = write_report(settings, report)
    table = pq.read_table(path)
    assert table.equals(report_table(report))
    assert table.column("tipo").to_pylist() == [KIND_GAP, KIND_GAP, KIND_PENDING, KIND_PENDING]
    assert table.column("dias_restantes").to_pylist()[:2] == [-18, 12]


def test_missing_fiscal_column_is_named(make_db, tmp_path):
    from sinc_pipeline.core.errors import SchemaError
    settings = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    cols = settings.fiscal.columns.model_copy(update={"number": "nnf"})
    bad = settings.model_copy(update={"fiscal": settings.fiscal.model_copy(update={"columns": cols})})
    with pytest.raises(SchemaError, match="'nnf'.*fiscal.columns"):
        build_report(bad, now=NOW)


def test_unknown_timezone_is_a_config_error(make_db, tmp_path):
    import yaml

    from sinc_pipeline.settings import parse_settings
    from sinc_pipeline.core.errors import ConfigError
    raw = yaml.safe_load(yaml.safe_dump(small_demo(make_db, "sqlite", "sqlite", tmp_path).model_dump(mode="json")))
    raw["fiscal"]["timezone"] = "America/Sao Paulo"
    with pytest.raises(ConfigError, match=r"fiscal\.timezone: valor 'America/Sao Paulo' — fuso horário desconhecido"):
        parse_settings(raw)

