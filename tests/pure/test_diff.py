"""Pure change detection, mapping and SQL twins: no database, no Dagster."""
from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sinc_pipeline.io.checksum import table_checksum
from sinc_pipeline.sync.diff import check_key, diff_tables
from sinc_pipeline.core.errors import DataError
from sinc_pipeline.sync.mapping import Mapping, add_constants
from sinc_pipeline.io.writer import delete_sql, insert_sql, update_sql

D = pa.decimal128(12, 2)


def t(ids, prices, names=None):
    names = names or [f"n{i}" for i in ids]
    return pa.table({"id": pa.array(ids, pa.int64()), "preco": pa.array([None if p is None else Decimal(p) for p in prices], D),
                     "nome": pa.array(names, pa.string())})


@pytest.mark.parametrize("src,tgt,ins,upd,dele", [
    (t([1, 2], ["1.00", "2.00"]), t([1, 2], ["1.00", "2.00"]), [], [], []),
    (t([1, 2], ["1.00", "2.00"]), t([1], ["1.00"]), [2], [], []),
    (t([1], ["1.00"]), t([1, 2], ["1.00", "2.00"]), [], [], [2]),
    (t([1], ["1.01"]), t([1], ["1.00"]), [], [1], []),
    (t([1], [None]), t([1], [None]), [], [], []),
    (t([1], [None]), t([1], ["0.00"]), [], [1], []),
    (t([1], ["0.00"]), t([1], [None]), [], [1], []),
    (t([1], ["1.00"], ["Ação"]), t([1], ["1.00"], ["Acao"]), [], [1], []),
    (t([], []), t([3], ["1.00"]), [], [], [3]),
])
def test_diff_cases(src, tgt, ins, upd, dele):
    ch = diff_tables(src, tgt, ["id"])
    assert ch.inserts.column("id").to_pylist() == ins
    assert ch.updates.column("id").to_pylist() == upd
    assert ch.deletes.column("id").to_pylist() == dele
    assert ch.empty == (not ins and not upd and not dele)


def test_diff_one_cent_is_a_change_and_values_stay_exact():
    ch = diff_tables(t([1], ["19.90"]), t([1], ["19.89"]), ["id"])
    assert ch.updates.column("preco").to_pylist() == [Decimal("19.90")]


def test_composite_key():
    a = pa.table({"loja_id": [1, 1, 2], "id": [1, 2, 1], "v": ["a", "b", "c"]})
    b = pa.table({"loja_id": [1, 2, 2], "id": [1, 1, 9], "v": ["a", "x", "z"]})
    ch = diff_tables(a, b, ["loja_id", "id"])
    assert ch.inserts.select(["loja_id", "id"]).to_pylist() == [{"loja_id": 1, "id": 2}]
    assert ch.updates.column("v").to_pylist() == ["c"]
    assert ch.deletes.to_pylist() == [{"loja_id": 2, "id": 9}]


def test_duplicate_keys_refused_with_the_key():
    with pytest.raises(DataError, match="Chave duplicada.*'id': 7"):
        check_key(t([7, 7], ["1.00", "2.00"]), ["id"], "loja tabela 'produto'")


def test_key_check_names_missing_and_null_key_columns():
    table = pa.table({"id": pa.array([1, None], pa.int64()), "v": ["a", "b"]})
    with pytest.raises(DataError, match=r"Chave \['codigo'\] inválida para origem.*ausentes \['codigo'\]"):
        check_key(table, ["codigo"], "origem")
    with pytest.raises(DataError, match=r"Chave nula em origem: coluna\(s\) \['id'\]"):
        check_key(table, ["id"], "origem")
    check_key(table, ["id"], "origem", nulls_allowed=True)      # the sync compares NULL keys as values
    with pytest.raises(ValueError, match="Chave nula"):
        check_key(table, ["id"], "snapshot", error=ValueError)


def test_checksum_order_independent_and_cent_sensitive():
    a = t([1, 2, 3], ["1.00", "2.00", None])
    b = a.take([2, 0, 1])
    assert table_checksum(a) == table_checksum(b)
    assert table_checksum(a)[1] != table_checksum(t([1, 2, 3], ["1.00", "2.01", None]))[1]
    assert table_checksum(a.to_batches(max_chunksize=1)) == table_checksum(a)


def test_mapping_drops_and_adds_filter_columns():
    m = Mapping.build(["loja_id", "id", "total"], ["loja_id", "id"], {"total": "valor"}, ["loja_id"], {"loja_id": 3})
    assert m.store_key == ["id"] and m.physical == {"id": "id", "total": "valor"}
    assert m.store_columns == ["id", "total"]
    schema = pa.schema([("loja_id", pa.int64()), ("id", pa.int64()), ("total", pa.string())])
    out = add_constants(pa.table({"id": [1, 2], "total": ["a", "b"]}), m.constants, schema)
    assert out.column("loja_id").to_pylist() == [3, 3] and out.schema == schema


@pytest.fixture
def vendas():
    return sa.Table("vendas", sa.MetaData(), sa.Column("loja_id", sa.Integer), sa.Column("id", sa.Integer),
                    sa.Column("total", sa.Numeric(12, 2)), sa.Column("select", sa.String))


@pytest.mark.parametrize("dialect,quote", [("sqlite", '"'), ("postgresql", '"'), ("mysql", "`")])
def test_sql_twins_quote_names_and_bind_values(vendas, dialect, quote):
    ins = insert_sql(vendas, ["loja_id", "id", "total", "select"], dialect)
    upd = update_sql(vendas, ["id"], ["total", "select"], {"loja_id": 1}, dialect)
    dele = delete_sql(vendas, ["id"], {"loja_id": 1}, dialect)
    assert ins.startswith("INSERT INTO vendas") and f"{quote}select{quote}" in ins
    assert upd.startswith("UPDATE vendas SET total=") and "WHERE vendas.id =" in upd and "vendas.loja_id =" in upd
    assert dele.startswith("DELETE FROM vendas WHERE vendas.id =") and "vendas.loja_id =" in dele
    for sql in (ins, upd, dele):
        assert "'" not in sql  # no value is formatted into the SQL: all are bound parameters


@pytest.mark.parametrize("dialect,expected", [
    ("sqlite", 'INSERT INTO "order" (id, "select") VALUES (?, ?)'),
    ("postgresql", 'COPY "order" (id, "select") FROM STDIN'),
    ("mysql", "INSERT INTO `order` (id, `select`) VALUES (%s, %s)"),
])
def test_bulk_insert_sql_twin_quotes_names(dialect, expected):
    from sinc_pipeline.io.bulk import bulk_insert_sql
    from sinc_pipeline.core.engines import dialect as offline_dialect
    assert bulk_insert_sql(offline_dialect(dialect), "order", ["id", "select"]) == expected
