"""Can the target column hold what the source column holds? (pure, over Arrow types)

Each synced column pairs a source type with a target type (the canonical Arrow types of the two
reflected columns). A pairing is

* ``exact``: every source value is stored as it is (same type, a wider decimal, text holding
  anything, an integer in a decimal);
* ``round``: the target keeps fewer decimal places (NUMERIC(12,4) -> NUMERIC(10,2), a decimal
  or a real into an integer): values would change silently, and the same rows would be
  "updated" again on every run. Refused unless the table says ``allow_rounding: true``; then the
  source is rounded (half away from zero, as the engines do) to the target's type before it is
  compared, so a second run writes nothing;
* ``lossy``: no rounding makes them agree (text '00037' into an integer column becomes 37; a
  timestamp into a date). Always refused, naming both types and the fix.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

Kind = Literal["exact", "round", "lossy"]


@dataclass(frozen=True)
class Pairing:
    column: str
    source: pa.DataType
    target: pa.DataType
    kind: Kind
    reason: str = ""


def _decimal_like(t: pa.DataType) -> bool:
    return pa.types.is_decimal(t) or pa.types.is_integer(t)


def pair(column: str, source: pa.DataType, target: pa.DataType) -> Pairing:
    """How ``target`` holds the values of ``source`` (see the module docstring)."""
    def out(kind: Kind, reason: str = "") -> Pairing:
        return Pairing(column, source, target, kind, reason)

    if source == target or pa.types.is_string(target) or pa.types.is_null(source):
        return out("exact")
    if pa.types.is_integer(source) and (pa.types.is_integer(target) or pa.types.is_floating(target)):
        return out("exact")
    if pa.types.is_integer(source) and pa.types.is_decimal(target):
        return out("exact")
    if pa.types.is_boolean(source) and (pa.types.is_integer(target) or pa.types.is_decimal(target)):
        return out("exact")
    if pa.types.is_decimal(source) and pa.types.is_floating(target):
        return out("exact")
    if pa.types.is_decimal(source) and pa.types.is_decimal(target):
        if target.scale >= source.scale:
            return out("exact")
        return out("round", f"{source.scale} casas decimais na origem dos dados, {target.scale} no destino")
    if pa.types.is_decimal(source) and pa.types.is_integer(target):
        if source.scale == 0:
            return out("exact")
        return out("round", f"{source.scale} casas decimais na origem dos dados, nenhuma no destino")
    if pa.types.is_floating(source) and _decimal_like(target):
        places = target.scale if pa.types.is_decimal(target) else 0
        return out("round", f"número real na origem dos dados, {places} casas decimais no destino")
    if pa.types.is_date(source) and pa.types.is_timestamp(target):
        return out("exact")
    if pa.types.is_timestamp(source) and pa.types.is_timestamp(target):
        return out("exact")
    if pa.types.is_string(source):
        return out("lossy", "texto num destino que não é texto (ex.: '00037' viraria 37)")
    return out("lossy", f"{source} não cabe em {target} sem perder valores")


def round_to(values: pa.ChunkedArray | pa.Array, target: pa.DataType) -> pa.ChunkedArray | pa.Array:
    """``values`` as the target column holds them: rounded half away from zero to the target's
    decimal places, then cast (a value too large for the target raises ``pa.ArrowInvalid``)."""
    places = target.scale if pa.types.is_decimal(target) else 0
    rounded = pc.round(values, ndigits=places, round_mode="half_towards_infinity")
    return pc.cast(rounded, target)


# ---------------------------------------------------------------- values the target cannot hold
_INT_BOUNDS = {"TINYINT": 2 ** 7, "SMALLINT": 2 ** 15, "MEDIUMINT": 2 ** 23, "INTEGER": 2 ** 31, "INT": 2 ** 31}


@dataclass(frozen=True)
class Limit:
    """What a target column holds: at most ``chars`` characters, or numbers below ``bound`` in size."""
    declared: str
    chars: int | None = None
    bound: int | None = None       # |value| < bound


def limit_of(sql_type, engine: str) -> Limit | None:
    """The limit an engine enforces for a reflected column type, or None (SQLite enforces none)."""
    import sqlalchemy as sa
    if engine == "sqlite":
        return None
    name = type(sql_type).__name__.upper()
    if isinstance(sql_type, sa.String) and getattr(sql_type, "length", None):
        return Limit(str(sql_type), chars=sql_type.length)
    if isinstance(sql_type, sa.Boolean) or (name == "TINYINT" and getattr(sql_type, "display_width", None) == 1):
        return None
    if isinstance(sql_type, sa.Integer) and name in _INT_BOUNDS and not getattr(sql_type, "unsigned", False):
        return Limit(str(sql_type), bound=_INT_BOUNDS[name])
    if isinstance(sql_type, sa.Numeric) and not isinstance(sql_type, sa.Float) and sql_type.precision:
        return Limit(str(sql_type), bound=10 ** (sql_type.precision - (sql_type.scale or 0)))
    return None


def misfits(table: pa.Table, limits: dict[str, Limit], key: list[str], most: int = 5) -> list[dict]:
    """Rows of ``table`` with a value its target column cannot hold: column, key, value (cut to 40
    characters) and the column's declared type; at most ``most`` per column."""
    found = []
    for column, limit in limits.items():
        if column not in table.column_names or not table.num_rows:
            continue
        values = table.column(column)
        if limit.chars is not None and (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            bad = pc.greater(pc.utf8_length(values), limit.chars)
        elif limit.bound is not None and (pa.types.is_integer(values.type) or pa.types.is_decimal(values.type)):
            t = values.type
            if pa.types.is_decimal(t):
                if limit.bound >= 10 ** (t.precision - t.scale):
                    continue                      # no value of the source type can reach it
                bound = pa.scalar(Decimal(limit.bound), t)
            elif limit.bound < 2 ** 63:
                bound = pa.scalar(limit.bound, t)
            else:
                continue
            bad = pc.greater_equal(pc.abs(values), bound)
        else:
            continue
        rows = table.filter(pc.fill_null(bad, False)).slice(0, most)
        for r in rows.select([*key, column]).to_pylist():
            text = str(r[column])
            found.append({"coluna": column, "chave": {k: r[k] for k in key},
                          "valor": text if len(text) <= 40 else text[:37] + "…", "tipo": limit.declared})
    return found
