"""The preflight's pure rules: charsets, fractional seconds as the target holds them, key collations."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from sinc_pipeline.core.preflight import (ACCENTS, CASE, TRAILING, ColumnFacts, Finding, candidate_collisions,
                                          charset_risk, describe_loss, fit_fraction, fold, fold_risk,
                                          fraction_loss, nopad_fix, unrepresentable, utf8mb4_collation)
from sinc_pipeline.core.probes import sqlite_collations

TS = pa.timestamp("us")


def ts(*values):
    return pa.array([None if v is None else dt.datetime.fromisoformat(v) for v in values], TS)


def test_truncate_as_mariadb_floors_toward_the_earlier_instant():
    got = fit_fraction(ts("2024-01-01 10:00:00.999999", "1960-01-01 10:00:00.500000", None), 0, "truncate")
    assert got.to_pylist() == [dt.datetime(2024, 1, 1, 10), dt.datetime(1960, 1, 1, 10), None]
    two = fit_fraction(ts("2024-01-01 10:00:00.999999", "1969-12-31 23:59:59.123456"), 2, "truncate")
    assert two.to_pylist() == [dt.datetime(2024, 1, 1, 10, 0, 0, 990000), dt.datetime(1969, 12, 31, 23, 59, 59, 120000)]
    assert fit_fraction(ts("2024-01-01 10:00:00.999999"), 6).to_pylist() == [dt.datetime(2024, 1, 1, 10, 0, 0, 999999)]


def test_round_as_postgresql_goes_away_from_zero_around_2000():
    # checked against PostgreSQL 15: '…10:00:00.5'::timestamp(0) and '…00.125'::timestamp(2)
    got = fit_fraction(ts("2024-01-01 10:00:00.5", "1990-01-01 10:00:00.5", "2024-01-01 10:00:00.125",
                          "1990-01-01 10:00:00.125"), 0, "round_pg")
    assert got.to_pylist()[:2] == [dt.datetime(2024, 1, 1, 10, 0, 1), dt.datetime(1990, 1, 1, 10)]
    two = fit_fraction(ts("2024-01-01 10:00:00.125", "1990-01-01 10:00:00.125"), 2, "round_pg")
    assert two.to_pylist() == [dt.datetime(2024, 1, 1, 10, 0, 0, 130000), dt.datetime(1990, 1, 1, 10, 0, 0, 120000)]
    up = fit_fraction(ts("1960-01-01 10:00:00.5", "2024-01-01 10:00:00.4"), 0, "round")
    assert up.to_pylist() == [dt.datetime(1960, 1, 1, 10, 0, 1), dt.datetime(2024, 1, 1, 10)]


def test_times_are_fitted_too():
    t = pa.array([dt.time(10, 0, 0, 999999), None], pa.time64("us"))
    assert fit_fraction(t, 0).to_pylist() == [dt.time(10), None]
    assert fit_fraction(t, 3, "round_pg").to_pylist() == [dt.time(10, 0, 1), None]
    assert fit_fraction(t, 0).type == pa.time64("us")
    late = pa.array([dt.time(23, 59, 59, 600000)], pa.time64("us"))
    assert fit_fraction(late, 0, "round_pg").to_pylist() == [dt.time(23, 59, 59)]


def test_fraction_loss_and_its_description():
    src, tgt = ColumnFacts("timestamp", fraction=6), ColumnFacts("timestamp", fraction=0)
    assert fraction_loss(src, tgt) == (6, 0)
    assert describe_loss(6, 0) == "microssegundos → segundos"
    assert describe_loss(6, 3) == "microssegundos → milissegundos"
    assert fraction_loss(tgt, src) is None                       # the target keeps more
    assert fraction_loss(ColumnFacts("timestamp", fraction=None), ColumnFacts("timestamp", fraction=6)) is None
    assert fraction_loss(ColumnFacts("text"), ColumnFacts("timestamp", fraction=0)) is None


def test_charset_risk_by_repertoire():
    mb3, mb4 = ColumnFacts("text", charset="utf8mb3"), ColumnFacts("text", charset="utf8mb4")
    sqlite, latin1 = ColumnFacts("text"), ColumnFacts("text", charset="latin1")
    assert charset_risk("sqlite", sqlite, "mariadb", mb3) == 3
    assert charset_risk("postgresql", ColumnFacts("text", charset="UTF8"), "mariadb", mb3) == 3
    assert charset_risk("mariadb", mb4, "mariadb", latin1) == 2
    assert charset_risk("mariadb", mb3, "mariadb", mb3) is None
    assert charset_risk("mariadb", latin1, "mariadb", mb3) is None      # the target holds more
    assert charset_risk("sqlite", sqlite, "mariadb", mb4) is None
    assert charset_risk("sqlite", sqlite, "postgresql", ColumnFacts("text", charset="UTF8")) is None
    assert charset_risk("sqlite", sqlite, "postgresql", ColumnFacts("text", charset="LATIN1")) == 2
    values = pa.array(["Café ☕", "Pão 😀", None, "ação"])
    assert unrepresentable(values, 3).to_pylist() == [False, True, False, False]
    assert unrepresentable(values, 2).to_pylist() == [True, True, False, False]
    assert unrepresentable(pa.array(["€ 10", "ção"]), 2).to_pylist() == [False, False]
    assert unrepresentable(values, 1).to_pylist() == [True, True, False, True]
    assert utf8mb4_collation("utf8mb3_general_ci") == "utf8mb4_general_ci"
    assert utf8mb4_collation("latin1_swedish_ci") == "utf8mb4_nopad_bin"


def test_folds_and_candidate_collisions():
    assert fold(pa.array(["José ", "AÇÃO"]), {CASE, ACCENTS, TRAILING}).to_pylist() == ["jose", "acao"]
    assert fold(pa.array(["X "]), {CASE}).to_pylist() == ["x "]
    keys = pa.table({"codigo": ["José", "Jose", "Maria", "X", "X ", "y"], "loja": [1, 1, 1, 1, 1, 1]})
    groups = candidate_collisions(keys, {"codigo": frozenset({CASE, ACCENTS})})
    assert groups == [[{"codigo": "Jose", "loja": 1}, {"codigo": "José", "loja": 1}]]
    groups = candidate_collisions(keys, {"codigo": frozenset({TRAILING})})
    assert groups == [[{"codigo": "X", "loja": 1}, {"codigo": "X ", "loja": 1}]]
    other_store = pa.table({"codigo": ["José", "Jose"], "loja": [1, 2]})   # other columns are compared as they are
    assert candidate_collisions(other_store, {"codigo": frozenset({CASE, ACCENTS})}) == []
    assert candidate_collisions(keys, {}) == []


def test_fold_risk_is_what_the_target_folds_and_the_source_does_not():
    general = ColumnFacts("text", folds=frozenset({CASE, ACCENTS, TRAILING}))
    binary_pad = ColumnFacts("text", folds=frozenset({TRAILING}))
    assert fold_risk(ColumnFacts("text"), general) == {CASE, ACCENTS, TRAILING}
    assert fold_risk(binary_pad, general) == {CASE, ACCENTS}
    assert fold_risk(general, general) == frozenset()
    assert fold_risk(ColumnFacts("text"), ColumnFacts("text")) == frozenset()


def test_fixes_and_lines():
    facts = ColumnFacts("text", collation="utf8mb4_general_ci", declared="varchar(20) NOT NULL")
    fix = nopad_fix("mariadb", "clientes", "codigo", facts)
    assert fix.startswith("ALTER TABLE `clientes` MODIFY `codigo` varchar(20) NOT NULL CHARACTER SET utf8mb4 "
                          "COLLATE utf8mb4_nopad_bin")
    f = Finding("erro", "colacao", "loja_01", "clientes", "codigo", "colide", fix)
    assert f.line().startswith("[ERRO] loja loja_01, tabela 'clientes', coluna 'codigo': colide. Dica: ALTER TABLE")


def test_sqlite_collations_from_the_create_text():
    sql = ('CREATE TABLE t (id INTEGER PRIMARY KEY, "Nome" TEXT COLLATE NOCASE NOT NULL, preco NUMERIC(10, 2), '
           '`b` VARCHAR(3) collate rtrim, c TEXT, PRIMARY KEY (id))')
    assert sqlite_collations(sql) == {"nome": "NOCASE", "b": "rtrim"}


def test_on_unrepresentable_is_error_by_default_or_report():
    from sinc_pipeline.settings import parse_settings

    from .test_config import BASE, problems, with_
    assert parse_settings(BASE).table("produtos").on_unrepresentable == "error"
    assert parse_settings(with_("tables.0.on_unrepresentable", "report")).table("produtos").on_unrepresentable == "report"
    found = problems(with_("tables.0.on_unrepresentable", "ignore"))
    assert any("on_unrepresentable" in p for p in found), found
