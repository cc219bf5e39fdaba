"""The demo's retail schema: the origin's tables and a store's (a checkout database).

The store differs on purpose so the mapping rules are used: ``produtos`` is ``produto`` with
``preco`` named ``preco_venda`` and no ``custo``; per-store tables carry no ``loja_id`` (a
checkout database holds only its own rows). ``clientes`` are each store's customers (the
origin's key is ``loja_id, id``): registered at the store and at HQ, synced both ways.
"""
from __future__ import annotations

import sqlalchemy as sa

from sqlalchemy.dialects import mysql

MONEY = sa.Numeric(12, 2)
# MariaDB's DATETIME keeps whole seconds unless told otherwise; keep microseconds everywhere.
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
QTY = sa.Numeric(14, 3)


def origin_metadata() -> sa.MetaData:
    md = sa.MetaData()
    sa.Table("lojas", md, *_loja_columns())
    sa.Table("produtos", md, *_produto_columns(origin=True))
    sa.Table("clientes", md,
             sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False),
             *_cliente_columns())
    sa.Table("estoque", md,
             sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False),
             *_estoque_columns())
    sa.Table("vendas", md,
             sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False),
             *_venda_columns())
    sa.Table("venda_itens", md,
             sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False),
             *_item_columns())
    sa.Table("documentos_fiscais", md,
             sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False),
             *_documento_columns())
    return md


def store_metadata() -> sa.MetaData:
    md = sa.MetaData()
    sa.Table("lojas", md, *_loja_columns())
    sa.Table("produto", md, *_produto_columns(origin=False))
    sa.Table("clientes", md, *_cliente_columns())
    sa.Table("estoque", md, *_estoque_columns())
    sa.Table("vendas", md, *_venda_columns())
    sa.Table("venda_itens", md, *_item_columns())
    sa.Table("documentos_fiscais", md, *_documento_columns())
    return md


def _loja_columns() -> list:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("nome", sa.String(80), nullable=False),
        sa.Column("cnpj", sa.String(14), nullable=False),
        sa.Column("cidade", sa.String(60)),
        sa.Column("uf", sa.String(2)),
    ]


def _produto_columns(origin: bool) -> list:
    cols = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ean", sa.String(14)),
        sa.Column("ncm", sa.String(8)),
        sa.Column("descricao", sa.String(120), nullable=False),
        sa.Column("unidade", sa.String(3), nullable=False),
        sa.Column("preco" if origin else "preco_venda", MONEY, nullable=False),
    ]
    if origin:
        cols.append(sa.Column("custo", MONEY))
    cols += [sa.Column("ativo", sa.Boolean, nullable=False),
             sa.Column("atualizado_em", TIMESTAMP, index=True)]
    return cols


def _cliente_columns() -> list:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("nome", sa.String(120), nullable=False),
        sa.Column("cpf_cnpj", sa.String(14)),
        sa.Column("email", sa.String(120)),
        sa.Column("telefone", sa.String(20)),          # the store's (store_columns)
        sa.Column("endereco", sa.String(160)),         # the store's (store_columns)
        sa.Column("limite_credito", MONEY),            # HQ's (origin_columns)
        sa.Column("bloqueado", sa.Boolean),            # HQ's (origin_columns)
        sa.Column("atualizado_em", TIMESTAMP),
    ]


def _estoque_columns() -> list:
    return [
        sa.Column("produto_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("quantidade", QTY, nullable=False),
        sa.Column("atualizado_em", TIMESTAMP),
    ]


def _venda_columns() -> list:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("cliente_id", sa.Integer),
        sa.Column("emitida_em", TIMESTAMP, nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("atualizado_em", TIMESTAMP, index=True),
    ]


def _item_columns() -> list:
    return [
        sa.Column("venda_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("item", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("produto_id", sa.Integer, nullable=False),
        sa.Column("quantidade", QTY, nullable=False),
        sa.Column("preco_unitario", MONEY, nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("atualizado_em", TIMESTAMP, index=True),
    ]


def _documento_columns() -> list:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("venda_id", sa.Integer),
        sa.Column("cnpj", sa.String(14), nullable=False),
        sa.Column("modelo", sa.Integer, nullable=False),
        sa.Column("serie", sa.Integer, nullable=False),
        sa.Column("numero", sa.Integer, nullable=False),
        sa.Column("tp_emis", sa.Integer, nullable=False),
        sa.Column("chave", sa.String(44), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("emitido_em", TIMESTAMP, nullable=False),
        sa.Column("atualizado_em", TIMESTAMP, index=True),
    ]
