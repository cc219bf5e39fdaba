"""Markdown tables for what the asset catalog shows (pure: no Dagster, no pandas needed).

One look everywhere::

    | loja | tabela | linhas |
    | --- | --- | --- |
    | loja_01 | vendas | 24 |

Cells are written as text: a missing value (None, NaN, NaT) as ``null``, bytes in hex,
decimals in plain notation (never ``1E-7``); a ``|`` is escaped and a line break becomes a
space, so a value can never break the table; cells longer than ``max_cell`` are cut with ``…``.
"""
from __future__ import annotations

import decimal
import math
from collections.abc import Mapping, Sequence
from typing import Any

MORE = "… e mais {n} linha(s)."


class Markdown(str):
    """Text meant to be shown as Markdown: how the core marks a report value (e.g. in a sync
    result's ``extra``) that ``defs/metadata.py`` turns into Markdown metadata."""


def is_missing(value: Any) -> bool:
    """None, a float NaN, or pandas' NA/NaT (recognised without importing pandas)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def cell(value: Any, null: str = "—", max_cell: int | None = None) -> str:
    if is_missing(value):
        text = null
    elif isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).hex()
    elif isinstance(value, decimal.Decimal):
        text = format(value, "f")
    else:
        text = str(value)
    text = text.replace("|", "\\|").replace("\r\n", " ").replace("\n", " ")
    if max_cell is not None and len(text) > max_cell:
        text = text[:max_cell - 1] + "…"
    return text


def markdown_table(rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]], headers: Sequence[str], *,
                   limit: int | None = None, more: str = MORE, empty: str | None = None, null: str = "—",
                   max_cell: int | None = None) -> str:
    """``rows`` (dicts read by ``headers``, or sequences in the order of ``headers``) as a Markdown
    table. With ``limit``, only the first ``limit`` rows, then ``more`` (``{n}``: rows left out)
    as a paragraph below. With ``empty``, that text instead of a table when there are no rows."""
    if not rows and empty is not None:
        return empty
    headers = list(headers)
    shown = rows if limit is None else rows[:limit]
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "| " + " | ".join("---" for _ in headers) + " |"]
    for row in shown:
        values = [row.get(h) for h in headers] if isinstance(row, Mapping) else list(row)
        if len(values) != len(headers):
            raise ValueError(f"row has {len(values)} value(s) for {len(headers)} column(s): {values!r}")
        lines.append("| " + " | ".join(cell(v, null, max_cell) for v in values) + " |")
    text = "\n".join(lines)
    left = len(rows) - len(shown)
    return text + ("\n\n" + more.format(n=left) if left > 0 else "")
