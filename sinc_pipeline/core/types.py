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
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from sinc_pipeline.core.logs import warn_once

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


TEXT_TYPES = (sa.String, sa.JSON, sa.Uuid)     # read as text on purpose (JSON as its canonical dump)


def read_as_text_only(col_type: sa.types.TypeEngine) -> bool:
    """True when ``arrow_type`` reads ``col_type`` as text only because it does not know it
    (INTERVAL, MONEY, INET, YEAR, a column without a declared type…)."""
    return pa.types.is_string(arrow_type(col_type)) and not isinstance(col_type, TEXT_TYPES)


def _type_name(t: sa.types.TypeEngine) -> str:
    if isinstance(t, sa.types.NullType):
        return "sem tipo reconhecido"
    try:
        return str(t)
    except Exception:  # noqa: BLE001 - a type without a default rendering
        return type(t).__name__


def warn_unknown_types(table: sa.Table, columns: Iterable[str], where: str) -> None:
    """Say once per table and run (WARNING) which of ``columns`` of ``table`` (in the database
    ``where``) have a type this module does not know, read and compared as text."""
    unknown = [c for c in columns if read_as_text_only(table.c[c].type)]
    if not unknown:
        return
    listed = ", ".join(f"{c!r} ({_type_name(table.c[c].type)})" for c in unknown)
    warn_once(("tipo_como_texto", where, table.name, tuple(unknown)),
              f"Tabela {table.name!r} do banco {where}: coluna(s) de tipo desconhecido {listed}, lida(s) e "
              "comparada(s) como texto (o texto que o driver devolve). Dica: exclua a coluna (exclude) se ela "
              "não precisa ser sincronizada, ou converta-a para um tipo comum (texto, número, data).")


def _to_bool(v: Any) -> Any:
    return None if v is None else bool(v)


def _to_naive_utc(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(v, str):
        return dt.datetime.fromisoformat(v)
    return v


def _to_time(v: Any) -> Any:
    """MariaDB's TIME arrives as a timedelta (PyMySQL): the time of day it is."""
    if isinstance(v, dt.timedelta):
        return (dt.datetime.min + v).time() if dt.timedelta(0) <= v < dt.timedelta(days=1) else v
    if isinstance(v, str):
        return dt.time.fromisoformat(v)
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
    if pa.types.is_time(t):
        return _to_time
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
