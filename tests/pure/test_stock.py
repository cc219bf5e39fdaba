"""Tests for sinc_pipeline.stock.divergence (exact-decimal stock alignment)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

import numpy as np
import pandas as pd
import pytest

import pyarrow as pa

from sinc_pipeline.core.errors import DataError
from sinc_pipeline.stock.divergence import (divergence_summary, divergences_frame, plan_adjustments, stock_divergences,
                                            to_decimal)

KEY = ["loja_id", "produto_id"]
NOW = datetime(2026, 2, 2, 12, 0)


def _stock(rows):
    """A stock table as read from a database: integer keys, quantities of the inferred type."""
    cols = list(zip(*rows)) if rows else [[], [], []]
    qty = pa.array(list(cols[2])) if rows else pa.array([], pa.decimal128(14, 3))
    return pa.table({"loja_id": pa.array(cols[0], pa.int64()), "produto_id": pa.array(cols[1], pa.int64()),
                     "quantidade": qty})


def _divergences(store, origin):
    """``stock_divergences`` as the frame the summary and the plan take (Decimal objects)."""
    return divergences_frame(stock_divergences(store, origin, KEY, "quantidade"))


def _records(df):
    return df.to_dict("records")


@pytest.mark.parametrize("value, expected", [
    (D("0.001"), D("0.001")),
    (0.1, D("0.1")),                 # shortest repr, no binary noise
    (np.float64(2.001), D("2.001")),
    (np.int64(7), D("7")),
    (3, D("3")),
    ("1.250", D("1.250")),
    (None, None),
    (float("nan"), None),
    (pd.NA, None),
])
def test_to_decimal(value, expected):
    result = to_decimal(value)
    assert result == expected
    assert result is None or isinstance(result, D)


@pytest.mark.parametrize("value", ["abc", True])
def test_to_decimal_rejects(value):
    with pytest.raises(ValueError, match="quantidade inválida"):
        to_decimal(value)


DIVERGENCE_CASES = [
    # 0.001 kg stays 0.001, never float noise
    ([(1, 10, D("2.001"))], [(1, 10, D("2.000"))],
     [(1, 10, D("2.001"), D("2.000"), D("-0.001"), "divergente")]),
    ([(1, 10, D("0.001"))], [(1, 10, D("0.002"))],
     [(1, 10, D("0.001"), D("0.002"), D("0.001"), "divergente")]),
    # equal quantities (whatever the scale) are dropped
    ([(1, 10, D("1.000"))], [(1, 10, D("1"))], []),
    ([(1, 10, D("5.5"))], [], [(1, 10, D("5.5"), None, D("-5.5"), "somente_loja")]),
    ([], [(1, 10, D("0.250"))], [(1, 10, None, D("0.250"), D("0.250"), "somente_origem")]),
    # a row missing on one side counts as 0
    ([(1, 10, D("0"))], [], []),
    ([], [(1, 10, D("0.000"))], []),
    ([(1, 10, None)], [(1, 10, D("3"))], [(1, 10, None, D("3"), D("3"), "divergente")]),
]


@pytest.mark.parametrize("store_rows, origin_rows, expected", DIVERGENCE_CASES)
def test_stock_divergences(store_rows, origin_rows, expected):
    out = _divergences(_stock(store_rows), _stock(origin_rows))
    assert list(out.columns) == KEY + ["quantidade_loja", "quantidade_origem", "diferenca", "situacao"]
    assert [tuple(r.values()) for r in _records(out)] == expected
    for d in out["diferenca"]:
        assert isinstance(d, D)


def test_stock_divergences_float_inputs_are_exact():
    store = _stock([(1, 1, 0.1), (1, 2, 2.0)])
    origin = _stock([(1, 1, 0.3), (1, 2, 2.001)])
    out = _divergences(store, origin)
    assert dict(zip(out["produto_id"], out["diferenca"])) == {1: D("0.2"), 2: D("0.001")}


def test_stock_divergences_sorted_by_absolute_difference():
    store = _stock([(1, 1, D("10")), (1, 2, D("1")), (1, 3, D("4")), (1, 4, D("1"))])
    origin = _stock([(1, 1, D("9.999")), (1, 2, D("8")), (1, 4, D("1")), (1, 5, D("-20"))])
    out = _divergences(store, origin)
    assert out["produto_id"].tolist() == [5, 2, 3, 1]
    assert out["diferenca"].tolist() == [D("-20"), D("7"), D("-4"), D("-0.001")]
    assert out["situacao"].tolist() == ["somente_origem", "divergente", "somente_loja", "divergente"]


def test_stock_divergences_rejects_duplicate_key():
    store = _stock([(1, 1, D("1")), (1, 1, D("2"))])
    with pytest.raises(DataError, match="Chave duplicada em estoque da loja"):
        _divergences(store, _stock([]))


def test_divergence_summary():
    store = _stock([(1, i, D("1.000")) for i in range(1, 11)])
    origin = _stock([(1, i, D("1.000") + D("0.001") * i) for i in range(1, 11)])
    div = _divergences(store, origin)
    summary = divergence_summary(div, top=3)
    assert summary["quantidade"] == 10
    assert summary["soma_abs_diferencas"] == "0.055"    # 0.001 + 0.002 + ... + 0.010, exact
    lines = summary["markdown"].splitlines()
    assert len(lines) == 2 + 3                           # header, separator, top 3
    assert "quantidade_loja" in lines[0]
    assert "0.010" in lines[2] and "1.010" in lines[2]
    assert "0.008" in lines[4]
    assert "0.007" not in summary["markdown"]


@pytest.mark.parametrize("diffs, expected", [
    ([D("-0.001"), D("0.001")], "0.002"),
    ([D("1E-7")], "0.0000001"),          # plain notation, never scientific
    ([], "0"),
])
def test_divergence_summary_sum(diffs, expected):
    div = pd.DataFrame({"diferenca": pd.Series(diffs, dtype=object)})
    assert divergence_summary(div)["soma_abs_diferencas"] == expected


def test_divergence_summary_empty_markdown():
    div = _divergences(_stock([(1, 1, D("1"))]), _stock([(1, 1, D("1"))]))
    summary = divergence_summary(div)
    assert summary["quantidade"] == 0
    assert summary["markdown"] == "Nenhuma divergência de estoque."


@pytest.mark.parametrize("store_rows, origin_rows, expected", [
    ([(1, 1, D("2.001"))], [(1, 1, D("2.000"))], ("update", D("2.001"), D("2.000"), D("-0.001"))),
    ([(1, 1, D("5"))], [], ("update", D("5"), D("0"), D("-5"))),
    ([], [(1, 1, D("0.250"))], ("insert", None, D("0.250"), D("0.250"))),
])
def test_plan_adjustments(store_rows, origin_rows, expected):
    div = _divergences(_stock(store_rows), _stock(origin_rows))
    plan = plan_adjustments(div, KEY, run_id="run-42", now=NOW)
    assert list(plan.columns) == KEY + ["operacao", "quantidade_anterior", "quantidade_nova", "diferenca",
                                        "motivo", "run_id", "ajustado_em"]
    row = _records(plan)[0]
    assert (row["operacao"], row["quantidade_anterior"], row["quantidade_nova"], row["diferenca"]) == expected
    assert (row["loja_id"], row["produto_id"]) == (1, 1)
    assert (row["motivo"], row["run_id"], row["ajustado_em"]) == ("alinhamento com origem", "run-42", NOW)


def test_plan_adjustments_custom_reason_and_count():
    store = _stock([(1, 1, D("1")), (1, 2, D("2"))])
    origin = _stock([(1, 1, D("1.5")), (1, 3, D("3"))])
    div = _divergences(store, origin)
    plan = plan_adjustments(div, KEY, run_id="r", now=NOW, reason="inventário")
    assert sorted(plan["operacao"]) == ["insert", "update", "update"]
    assert set(plan["motivo"]) == {"inventário"}
    assert plan["diferenca"].tolist() == div["diferenca"].tolist()


def test_plan_adjustments_rejects_unknown_situation():
    div = pd.DataFrame([{"loja_id": 1, "produto_id": 1, "quantidade_loja": D("1"),
                         "quantidade_origem": D("2"), "diferenca": D("1"), "situacao": "outra"}])
    with pytest.raises(ValueError, match="situação desconhecida"):
        plan_adjustments(div, KEY, run_id="r", now=NOW)


# ---------------------------------------------------------------- declared column types
def _arrow_stock(rows, qtype=pa.decimal128(14, 3)):
    cols = list(zip(*rows)) if rows else [[], [], []]
    return pa.table({"loja_id": pa.array(cols[0], pa.int64()), "produto_id": pa.array(cols[1], pa.int64()),
                     "quantidade": pa.array(cols[2], qtype)})


@pytest.mark.parametrize("store_rows, origin_rows, expected", DIVERGENCE_CASES)
def test_stock_divergences_with_a_declared_decimal_type(store_rows, origin_rows, expected):
    out = stock_divergences(_arrow_stock(store_rows), _arrow_stock(origin_rows), KEY, "quantidade")
    assert out.column_names == KEY + ["quantidade_loja", "quantidade_origem", "diferenca", "situacao"]
    assert [tuple(r.values()) for r in out.to_pylist()] == expected
    assert out.schema.field("diferenca").type == pa.decimal128(15, 3)   # exact, one digit wider


def test_stock_divergences_sorted_and_summarised():
    store = _arrow_stock([(1, 1, D("10")), (1, 2, D("1")), (1, 3, D("4")), (1, 4, D("1"))])
    origin = _arrow_stock([(1, 1, D("9.999")), (1, 2, D("8")), (1, 4, D("1")), (1, 5, D("-20"))])
    out = stock_divergences(store, origin, KEY, "quantidade")
    assert out.column("produto_id").to_pylist() == [5, 2, 3, 1]
    assert out.column("situacao").to_pylist() == ["somente_origem", "divergente", "somente_loja", "divergente"]
    df = divergences_frame(out)
    assert df["diferenca"].tolist() == [D("-20"), D("7"), D("-4"), D("-0.001")]
    assert divergence_summary(df)["soma_abs_diferencas"] == "31.001"
    plan = plan_adjustments(df, KEY, run_id="r", now=NOW)
    assert plan["operacao"].tolist() == ["insert", "update", "update", "update"]
    assert plan["quantidade_nova"].tolist() == [D("-20"), D("8"), D("0"), D("9.999")]


def test_stock_divergences_mixed_scales_and_floats():
    store = _arrow_stock([(1, 1, D("2.5"))], pa.decimal128(10, 1))
    origin = pa.table({"loja_id": [1, 1], "produto_id": [1, 2], "quantidade": [2.501, 0.1]})
    out = stock_divergences(store, origin, KEY, "quantidade")
    assert dict(zip(out.column("produto_id").to_pylist(), out.column("diferenca").to_pylist())) == \
        {1: D("0.001"), 2: D("0.1")}


@pytest.mark.parametrize("side", ["loja", "origem"])
def test_stock_divergences_rejects_duplicate_and_null_keys(side):
    dup = _arrow_stock([(1, 1, D("1")), (1, 1, D("2"))])
    args = (dup, _arrow_stock([])) if side == "loja" else (_arrow_stock([]), dup)
    with pytest.raises(DataError, match=f"Chave duplicada em estoque da {side}: .*'produto_id': 1"):
        stock_divergences(*args, KEY, "quantidade")
    nulls = pa.table({"loja_id": [1], "produto_id": pa.array([None], pa.int64()), "quantidade": [D("1")]})
    with pytest.raises(DataError, match="Chave nula em estoque da loja.*valores nulos"):
        stock_divergences(nulls, _arrow_stock([]), KEY, "quantidade")
