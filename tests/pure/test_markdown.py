"""core/markdown.py: the one Markdown table of the asset catalog."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from sinc_pipeline.core.markdown import Markdown, markdown_table


def test_dict_rows_read_by_headers_and_list_rows_in_order():
    by_dict = markdown_table([{"b": 2, "a": 1, "ignored": 9}], ["a", "b"])
    by_list = markdown_table([[1, 2]], ["a", "b"])
    assert by_dict == by_list == "| a | b |\n| --- | --- |\n| 1 | 2 |"


def test_cells_never_break_the_table():
    md = markdown_table([["x|y", "linha 1\nlinha 2", b"\x00\xff", Decimal("1E-7"), None]],
                        ["a", "b", "c", "d", "e"])
    row = md.splitlines()[2]
    assert row == "| x\\|y | linha 1 linha 2 | 00ff | 0.0000001 | — |"
    assert len(md.splitlines()) == 3


def test_missing_values_of_pandas_are_null():
    df = pd.DataFrame({"n": [1.5, float("nan")], "t": [pd.Timestamp("2026-11-28 10:00"), pd.NaT],
                       "s": pd.array(["a", pd.NA], dtype="string")})
    md = markdown_table(df.to_dict("records"), ["n", "t", "s"], null="NULL")
    assert md.splitlines()[2:] == ["| 1.5 | 2026-11-28 10:00:00 | a |", "| NULL | NULL | NULL |"]


def test_limit_says_how_many_rows_were_left_out():
    rows = [[i] for i in range(5)]
    md = markdown_table(rows, ["i"], limit=2, more="… e mais {n} no arquivo.")
    assert md.splitlines() == ["| i |", "| --- |", "| 0 |", "| 1 |", "", "… e mais 3 no arquivo."]
    assert "e mais" not in markdown_table(rows, ["i"], limit=5)


def test_empty_text_replaces_an_empty_table():
    assert markdown_table([], ["a"], empty="Nenhuma.") == "Nenhuma."
    assert markdown_table([], ["a"]) == "| a |\n| --- |"


def test_long_cells_are_cut():
    md = markdown_table([["x" * 100, dt.date(2026, 1, 2)]], ["a", "b"], max_cell=10)
    assert md.splitlines()[2] == "| " + "x" * 9 + "… | 2026-01-02 |"


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match="2 value"):
        markdown_table([[1, 2]], ["a"])


def test_markdown_marker_is_plain_text():
    m = Markdown("| a |")
    assert m == "| a |" and isinstance(m, str)
