"""The demo in journal mode: produtos (renamed at the store), a scoped receive table with a
composite key (``precos_loja``, no loja_id at the store), vendas and venda_itens sent."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from sinc_pipeline.capture.install import install_capture
from sinc_pipeline.core.db import get_engine
from sinc_pipeline.settings import TableConfig
from sinc_pipeline.sync.direction import sync_direction
from sinc_pipeline.sync.unit import sync_unit

from ..helpers import rows, small_demo

JOURNAL = ("produtos", "vendas", "venda_itens")
PRICES = "precos_loja"


def _prices_tables(origin_url: str, store_urls: list[str]) -> None:
    md = sa.MetaData()
    sa.Table(PRICES, md, sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("produto_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("preco", sa.Numeric(12, 2), nullable=False))
    md.create_all(get_engine(origin_url))
    smd = sa.MetaData()
    sa.Table(PRICES, smd, sa.Column("produto_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("preco", sa.Numeric(12, 2), nullable=False))
    for url in store_urls:
        smd.create_all(get_engine(url))
    with get_engine(origin_url).begin() as c:
        c.execute(md.tables[PRICES].insert(), [{"loja_id": loja, "produto_id": p, "preco": Decimal(p) + loja}
                                              for loja in (1, 2) for p in range(1, 11)])


def journal_demo(make_db, origin: str, store: str, tmp_path, install: bool = True, **journal):
    st = small_demo(make_db, origin, store, tmp_path)
    _prices_tables(st.origin.url, [s.url for s in st.stores])
    tables = [t.model_copy(update={"capture": "journal", "cursor": None}) if t.name in JOURNAL else t
              for t in st.tables]
    prices = TableConfig(name=PRICES, direction="receive", key=["loja_id", "produto_id"], scoped=True,
                         capture="journal")
    tables.insert(2, prices)
    st = st.model_copy(update={"tables": tables,
                               "journal": st.journal.model_copy(update=journal)})
    if install:
        install_capture(st)
    return st


def all_journal(make_db, engine: str, tmp_path, stores=("loja_01", "loja_02")):
    """The journal demo with every table in journal mode, capture installed, and each store's
    first sync of both directions done (compared in full, positions saved)."""
    st = journal_demo(make_db, engine, engine, tmp_path, install=False)
    st = st.model_copy(update={"tables": [t.model_copy(update={"capture": "journal", "cursor": None})
                                          for t in st.tables]})
    install_capture(st)
    for s in stores:
        for d in ("send", "receive"):
            assert not sync_direction(st, s, d, keep_going=True)[1]
    return st


def unit_of(st, name: str) -> list:
    for d in ("receive", "send"):
        for u in st.units(d):
            if any(t.name == name for t in u):
                return u
    raise KeyError(name)


def sync_table(st, store: str, name: str):
    """Sync the unit holding ``name``; the result of that table."""
    return {r.table: r for r in sync_unit(st, store, unit_of(st, name))}[name]


def entries(url: str, table: str | None = None) -> list[tuple]:
    sql = "SELECT tabela, chave_1, chave_2, escopo, operacao FROM sinc_alteracoes"
    if table is None:
        return rows(url, sql + " ORDER BY seq")
    return rows(url, sql + " WHERE tabela = :t ORDER BY seq", t=table)
