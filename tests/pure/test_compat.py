"""Type pairings and target limits (core/compat.py), without a database."""
from __future__ import annotations

from decimal import Decimal as D

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sinc_pipeline.core.compat import limit_of, misfits, pair, round_to


@pytest.mark.parametrize("source, target, kind", [
    (pa.decimal128(10, 2), pa.decimal128(12, 4), "exact"),
    (pa.decimal128(12, 4), pa.decimal128(10, 2), "round"),
    (pa.decimal128(12, 2), pa.int64(), "round"),
    (pa.decimal128(12, 0), pa.int64(), "exact"),
    (pa.float64(), pa.decimal128(10, 2), "round"),
    (pa.int64(), pa.decimal128(10, 2), "exact"),
    (pa.int64(), pa.string(), "exact"),
    (pa.string(), pa.int64(), "lossy"),
    (pa.string(), pa.decimal128(10, 2), "lossy"),
    (pa.timestamp("us"), pa.date32(), "lossy"),
    (pa.date32(), pa.timestamp("us"), "exact"),
])
def test_pairings(source, target, kind):
    assert pair("c", source, target).kind == kind


def test_round_to_the_target_half_away_from_zero():
    values = pa.array([D("0.0010"), D("0.0050"), D("-0.0050"), D("19.9049"), None], pa.decimal128(12, 4))
    assert round_to(values, pa.decimal128(10, 2)).to_pylist() == [D("0.00"), D("0.01"), D("-0.01"), D("19.90"), None]
    assert round_to(pa.array([D("2.5"), D("-2.5")], pa.decimal128(5, 1)), pa.int64()).to_pylist() == [3, -3]
    with pytest.raises(pa.ArrowInvalid):
        round_to(pa.array([D("123456.789")], pa.decimal128(12, 3)), pa.decimal128(5, 2))


def test_limits_and_misfits():
    assert limit_of(sa.String(10), "sqlite") is None                # SQLite enforces no length
    t = pa.table({"id": [1, 2, 3], "nome": ["curto", "longo demais", None],
                  "valor": pa.array([D("1.00"), D("-12345.00"), None], pa.decimal128(12, 2)),
                  "n": [1, 2 ** 40, 3]})
    limits = {"nome": limit_of(sa.String(5), "postgresql"), "valor": limit_of(sa.Numeric(6, 2), "mariadb"),
              "n": limit_of(sa.Integer(), "postgresql")}
    bad = misfits(t, limits, ["id"])
    assert [(b["coluna"], b["chave"]) for b in bad] == [("nome", {"id": 2}), ("valor", {"id": 2}), ("n", {"id": 2})]
    assert bad[1]["valor"] == "-12345.00" and bad[1]["tipo"] == "NUMERIC(6, 2)"
    assert misfits(t.slice(0, 1), limits, ["id"]) == []
