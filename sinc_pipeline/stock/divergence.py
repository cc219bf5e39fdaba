"""Stock alignment between a store and the origin ("Alinhar Estoque"), as pure functions.

``stock_divergences`` compares quantities per key over Arrow tables with exact decimals
(0.001 kg stays 0.001), vectorised (a store's whole stock in milliseconds), and returns only the
divergent rows. ``divergence_summary`` condenses them for the back office, and ``plan_adjustments``
turns them into adjustment movements for the store: each carries the quantity that was
read (the condition of a conditional UPDATE), a reason and the run id, so history is
corrected by recorded adjustments, never rewritten silently.

Local sales not yet sent must be sent (or counted) before comparing, otherwise their items
count twice.
"""
from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sinc_pipeline.core.markdown import markdown_table
from sinc_pipeline.sync.diff import check_key

SITUATIONS = ("divergente", "somente_loja", "somente_origem")
_ZERO = Decimal(0)


def to_decimal(value: Any) -> Decimal | None:
    """Exact Decimal for a quantity; None when missing. Floats go through their shortest repr."""
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):          # numpy scalar -> Python scalar
        value = value.item()
    if isinstance(value, bool):
        raise ValueError(f"quantidade inválida: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return None if math.isnan(value) else Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"quantidade inválida: {value!r}") from None


def _fmt(d: Decimal | None) -> str:
    return "" if d is None else format(d, "f")


def divergence_summary(div: pd.DataFrame, top: int = 20) -> dict:
    """Count, sum of absolute differences (exact, as text) and a Markdown table of the ``top`` largest."""
    total = sum((abs(d) for d in div["diferenca"] if d is not None), _ZERO)
    if len(div) == 0:
        markdown = "Nenhuma divergência de estoque."
    else:
        order = sorted(range(len(div)), key=lambda i: -abs(div["diferenca"].iat[i] or _ZERO))
        shown = div.iloc[order[:top]].copy()
        for col in {"quantidade_loja", "quantidade_origem", "diferenca"} & set(shown.columns):
            shown[col] = [_fmt(v) for v in shown[col]]
        markdown = markdown_table(shown.to_dict("records"), list(shown.columns), null="")
    return {"quantidade": len(div), "soma_abs_diferencas": _fmt(total), "markdown": markdown}


_PLAN_COLUMNS = ["operacao", "quantidade_anterior", "quantidade_nova", "diferenca", "motivo", "run_id", "ajustado_em"]


def plan_adjustments(div: pd.DataFrame, key: list[str], *, run_id: str, now: datetime,
                     reason: str = "alinhamento com origem") -> pd.DataFrame:
    """One adjustment per divergence, bringing the store to the origin's quantity.

    "divergente" -> update to the origin's quantity; "somente_loja" -> update to 0 (the row
    is kept, history is not deleted); "somente_origem" -> insert (``quantidade_anterior``
    None). ``quantidade_anterior`` is the store quantity that was read: apply each update
    only where the store still holds it.
    """
    key = list(key)
    rows = []
    for rec in div.to_dict("records"):
        situ = rec["situacao"]
        before = to_decimal(rec["quantidade_loja"])
        if situ == "divergente":
            op, after = "update", to_decimal(rec["quantidade_origem"])
        elif situ == "somente_loja":
            op, after = "update", _ZERO
        elif situ == "somente_origem":
            op, before, after = "insert", None, to_decimal(rec["quantidade_origem"])
        else:
            raise ValueError(f"situação desconhecida: {situ!r} (esperado um de {', '.join(SITUATIONS)})")
        after = after if after is not None else _ZERO
        rows.append([rec[k] for k in key]
                    + [op, before, after, after - (before or _ZERO), reason, run_id, now])
    out = pd.DataFrame(rows, columns=key + _PLAN_COLUMNS)
    for col in ("quantidade_anterior", "quantidade_nova", "diferenca"):
        out[col] = out[col].astype(object)
    return out


def _decimal_column(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Quantities as an exact decimal column: decimals as they are, integers widened, floats
    through their shortest repr (as ``to_decimal`` does)."""
    t = arr.type
    if pa.types.is_decimal(t):
        return arr
    if pa.types.is_integer(t) or pa.types.is_null(t):
        return arr.cast(pa.decimal128(20, 0))
    if pa.types.is_floating(t):
        values = [to_decimal(v) for v in arr.to_pylist()]
        scale = max([-v.as_tuple().exponent for v in values if v is not None and v.is_finite()] + [0])
        exact = pa.array([None if v is None else v.quantize(Decimal(1).scaleb(-scale)) for v in values])
        return pa.chunked_array([exact if pa.types.is_decimal(exact.type) else exact.cast(pa.decimal128(1, 0))])
    raise ValueError(f"quantidade com tipo {t} não é numérica; esperado decimal, inteiro ou real")


def _common_decimal(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    scale = max(a.scale, b.scale)
    digits = max(a.precision - a.scale, b.precision - b.scale)
    return pa.decimal128(min(digits + scale, 37), scale)   # the difference takes one digit more


def stock_divergences(store: pa.Table, origin: pa.Table, key: list[str], quantity: str) -> pa.Table:
    """Rows whose quantity differs between store and origin, largest absolute difference first.

    Columns: the key, ``quantidade_loja``, ``quantidade_origem`` (exact ``decimal128``, NULL when
    the row is missing on that side), ``diferenca`` (origem - loja, missing counts as 0; one
    digit wider) and ``situacao``. A row present on one side only with quantity 0 is no
    divergence. A NULL or repeated key on either side is a ``DataError``.
    """
    key = list(key)
    check_key(store, key, "estoque da loja")
    check_key(origin, key, "estoque da origem")
    s_q, o_q = _decimal_column(store.column(quantity)), _decimal_column(origin.column(quantity))
    qtype = _common_decimal(s_q.type, o_q.type)
    s = pa.table([*store.select(key).columns, s_q.cast(qtype)], names=key + ["quantidade_loja"])
    o = pa.table([*origin.select(key).columns, o_q.cast(qtype)], names=key + ["quantidade_origem"])
    s = s.append_column("__loja", pa.array([True] * s.num_rows, pa.bool_()))
    o = o.append_column("__origem", pa.array([True] * o.num_rows, pa.bool_()))
    j = s.join(o, keys=key, join_type="full outer", coalesce_keys=True)
    zero = pa.scalar(Decimal(0), qtype)
    diff = pc.subtract(pc.coalesce(j.column("quantidade_origem"), zero), pc.coalesce(j.column("quantidade_loja"), zero))
    keep = pc.not_equal(diff, pa.scalar(Decimal(0), diff.type))
    j = j.append_column("diferenca", diff).filter(keep)
    in_store, in_origin = j.column("__loja").is_valid(), j.column("__origem").is_valid()
    situ = pc.if_else(pc.and_(in_store, in_origin), "divergente",
                      pc.if_else(in_store, "somente_loja", "somente_origem"))
    out = j.select(key + ["quantidade_loja", "quantidade_origem", "diferenca"]).append_column(
        "situacao", situ.cast(pa.string()))
    if not out.num_rows:
        return out
    order = pc.sort_indices(pa.table({"a": pc.abs(out.column("diferenca"))}), sort_keys=[("a", "descending")])
    return out.take(order)


def divergences_frame(div: pa.Table) -> pd.DataFrame:
    """The Arrow divergences as the pandas frame ``divergence_summary`` and ``plan_adjustments``
    take: quantities as ``Decimal`` objects (None where a side lacks the row)."""
    df = div.to_pandas()
    for col in ("quantidade_loja", "quantidade_origem", "diferenca"):
        df[col] = pd.Series(div.column(col).to_pylist(), index=df.index, dtype=object)
    return df
