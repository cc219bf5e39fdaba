"""Canonical Arrow types for database columns, so that two engines compare value for value.

The origin's declared type decides a column's canonical type; the other side is cast to it.
NUMERIC/DECIMAL become ``decimal128(precision, scale)`` (exact to the cent), booleans stay
booleans even where an engine stores them as integers (MariaDB's TINYINT(1)), timestamps
become naive microsecond timestamps (aware ones are converted to UTC first).
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

DEFAULT_NUMERIC = (38, 10)  # NUMERIC declared without precision/scale


def arrow_type(col_type: sa.types.TypeEngine, dialect: str = "") -> pa.DataType:
    t = col_type
    name = type(t).__name__.upper()
    if isinstance(t, sa.Boolean):
        return pa.bool_()
    if name == "TINYINT" and getattr(t, "display_width", None) == 1:
        return pa.bool_()
    if isinstance(t, sa.Integer):
        return pa.int64()
    if isinstance(t, sa.Float) or name in ("REAL", "DOUBLE", "DOUBLE_PRECISION", "FLOAT"):
        return pa.float64()
    if isinstance(t, sa.Numeric):
        p, s = t.precision, t.scale
        if p is None and s is None:
            p, s = DEFAULT_NUMERIC
        return pa.decimal128(min(p or 38, 38), s or 0)
    if isinstance(t, sa.DateTime):
        return pa.timestamp("us")
    if isinstance(t, sa.Date):
        return pa.date32()
    if isinstance(t, sa.Time):
        return pa.time64("us")
    if isinstance(t, sa.LargeBinary) or name in ("BLOB", "BYTEA", "VARBINARY", "BINARY", "LONGBLOB"):
        return pa.binary()
    return pa.string()


def _to_bool(v: Any) -> Any:
    return None if v is None else bool(v)


def _to_naive_utc(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(v, str):
        return dt.datetime.fromisoformat(v)
    return v


def _to_decimal(v: Any) -> Any:
    if v is None or isinstance(v, decimal.Decimal):
        return v
    if isinstance(v, float):
        return decimal.Decimal(repr(v))
    return decimal.Decimal(str(v))


def _to_text(v: Any) -> Any:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).decode("utf-8")
    return str(v)


def _to_bytes(v: Any) -> Any:
    if v is None or isinstance(v, bytes):
        return v
    return bytes(v)


def converter(t: pa.DataType) -> Callable[[Any], Any] | None:
    """A per-value fix-up applied before ``pa.array`` for values drivers return loosely."""
    if pa.types.is_boolean(t):
        return _to_bool
    if pa.types.is_timestamp(t):
        return _to_naive_utc
    if pa.types.is_decimal(t):
        return _to_decimal
    if pa.types.is_string(t):
        return _to_text
    if pa.types.is_binary(t):
        return _to_bytes
    return None


_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError,
                 OverflowError)


def to_arrow(values: list, t: pa.DataType) -> pa.Array:
    """Driver values -> an Arrow array of type ``t``: directly, else by one vectorised cast
    (SQLite's doubles to decimals rounded to the scale, ISO text to timestamps, 0/1 to booleans),
    else value by value."""
    try:
        return pa.array(values, type=t)
    except _ARROW_ERRORS:
        pass
    try:
        inferred = pa.array(values)
        if not (pa.types.is_timestamp(inferred.type) and inferred.type.tz is not None):
            return pc.cast(inferred, t)
    except _ARROW_ERRORS:
        pass
    conv = converter(t)
    if conv is None:
        return pa.array(values, type=t)
    return pa.array([conv(v) for v in values], type=t)
