"""The SQL of Alinhar Estoque's conditional writes, as text per engine (no database)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from sinc_pipeline.stock.align import conditional_insert_sql, conditional_update_sql


@pytest.mark.parametrize("dialect, expected", [
    ("sqlite", "UPDATE estoque SET quantidade=? WHERE estoque.produto_id = ? AND estoque.quantidade = ?"),
    ("postgresql", "UPDATE estoque SET quantidade=%(_nova)s WHERE estoque.produto_id = %(_k0)s::INTEGER "
                   "AND estoque.quantidade = %(_lida)s"),
    ("mariadb", "UPDATE estoque SET quantidade=%s WHERE estoque.produto_id = %s AND estoque.quantidade = %s"),
])
def test_conditional_update_sql(dialect, expected):
    t = sa.Table("estoque", sa.MetaData(), sa.Column("produto_id", sa.Integer), sa.Column("quantidade", sa.Numeric(14, 3)),
                 sa.Column("loja_id", sa.Integer))
    assert conditional_update_sql(t, ["produto_id"], "quantidade", {}, dialect) == expected
    scoped = conditional_update_sql(t, ["produto_id"], "quantidade", {"loja_id": 1}, dialect)
    assert scoped.startswith(expected) and "estoque.loja_id = " in scoped
    insert = conditional_insert_sql(t, ["produto_id"], "quantidade", {}, dialect)
    assert insert.startswith("INSERT INTO estoque (produto_id, quantidade) SELECT CAST(")
    assert "WHERE NOT (EXISTS (SELECT 1" in insert

