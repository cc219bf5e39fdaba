"""A shop schema with foreign keys between most tables (a self-reference, composite keys), and
random histories on it that keep every constraint at the side they are made on.

    categorias(id, nome, pai_id → categorias)          self-reference, nullable
    produtos(id, nome, categoria_id → categorias)      NOT NULL
    vendas(id, total)
    itens_venda(venda_id → vendas, item, produto_id → produtos, qtd)   composite key
    precos(produto_id → produtos, tabela, valor)                        composite key

``scoped``: every table also has ``loja_id`` leading its key and every foreign key (an origin
that holds all stores' rows). The store's names differ where ``renamed``: table ``produto`` and
column ``cat_id`` (mapped by ``store_table`` / ``columns`` in the config).
"""
from __future__ import annotations

import random

import sqlalchemy as sa

from sinc_pipeline.core.db import get_engine
from sinc_pipeline.settings import Settings, parse_settings

TABLES = ["categorias", "produtos", "vendas", "itens_venda", "precos"]
KEYS = {"categorias": ["id"], "produtos": ["id"], "vendas": ["id"], "itens_venda": ["venda_id", "item"],
        "precos": ["produto_id", "tabela"]}

COLUMNS = {"categorias": ["id", "nome", "pai_id"], "produtos": ["id", "nome", "categoria_id"], "vendas": ["id", "total"],
           "itens_venda": ["venda_id", "item", "produto_id", "qtd"], "precos": ["produto_id", "tabela", "valor"]}


class Names:
    def __init__(self, renamed: bool):
        self.produtos = "produto" if renamed else "produtos"
        self.categoria_id = "cat_id" if renamed else "categoria_id"

    def table(self, name: str) -> str:
        return self.produtos if name == "produtos" else name


def create_schema(url: str, *, scoped: bool = False, renamed: bool = False) -> None:
    n, md = Names(renamed), sa.MetaData()

    def lead():
        return [sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False)] if scoped else []

    def fk(cols, table, refs, name):
        if scoped:
            cols, refs = ["loja_id", *cols], ["loja_id", *refs]
        return sa.ForeignKeyConstraint(cols, [f"{table}.{r}" for r in refs], name=name)

    def pk(name):
        return sa.Column(name, sa.Integer, primary_key=True, autoincrement=False)

    sa.Table("categorias", md, *lead(), pk("id"), sa.Column("nome", sa.String(40), nullable=False),
             sa.Column("pai_id", sa.Integer, nullable=True), fk(["pai_id"], "categorias", ["id"], "fk_cat_pai"))
    sa.Table(n.produtos, md, *lead(), pk("id"), sa.Column("nome", sa.String(40), nullable=False),
             sa.Column(n.categoria_id, sa.Integer, nullable=False),
             fk([n.categoria_id], "categorias", ["id"], "fk_prod_cat"))
    sa.Table("vendas", md, *lead(), pk("id"), sa.Column("total", sa.Integer, nullable=False))
    sa.Table("itens_venda", md, *lead(), pk("venda_id"), pk("item"), sa.Column("produto_id", sa.Integer, nullable=False),
             sa.Column("qtd", sa.Integer, nullable=False), fk(["venda_id"], "vendas", ["id"], "fk_item_venda"),
             fk(["produto_id"], n.produtos, ["id"], "fk_item_prod"))
    sa.Table("precos", md, *lead(), pk("produto_id"), pk("tabela"), sa.Column("valor", sa.Integer, nullable=False),
             fk(["produto_id"], n.produtos, ["id"], "fk_preco_prod"))
    md.create_all(get_engine(url))


def settings_for(origin: str, store: str, tmp_path, order: list[str], direction: str, renamed: bool,
                 **overrides) -> Settings:
    tables = []
    for name in order:
        t = {"name": name, "direction": direction, "key": KEYS[name]}
        if renamed and name == "produtos":
            t |= {"store_table": "produto", "columns": {"categoria_id": "cat_id"}}
        if direction == "send":
            t |= {"scoped": True, "deletes": "propagate"}
        tables.append(t | overrides.get(name, {}))
    return parse_settings({
        "origin": {"url": origin}, "tables": tables, "dagster_home": str(tmp_path / "dagster"),
        "snapshots": {"root": str(tmp_path / "snapshots")},
        "stores": [{"id": "loja_01", "url": store, "cnpj": "11222333000181", "filter": {"loja_id": 1}},
                   {"id": "loja_02", "url": "sqlite:///" + str(tmp_path / "nao_usada.db"), "cnpj": "11222333000181",
                    "filter": {"loja_id": 2}}]})


class History:
    """Random changes at one side (``url``, with its ``names``), constraints kept there."""

    def __init__(self, url: str, names: Names, seed: int, loja: int | None = None):
        self.url, self.n, self.rnd, self.loja = url, names, random.Random(seed), loja
        self.next_id = 1

    def _sql(self, sql: str, params: list[dict] | dict | None = None):
        with get_engine(self.url).begin() as c:
            return c.execute(sa.text(sql), params or {})

    def _ids(self, table: str, col: str = "id") -> list:
        with get_engine(self.url).connect() as c:
            return [r[0] for r in c.execute(sa.text(f"SELECT {col} FROM {table} ORDER BY {col}"))]

    def _new(self) -> int:
        self.next_id += 1
        return self.next_id

    def _ins(self, table: str, **values) -> None:
        if self.loja is not None:
            values = {"loja_id": self.loja, **values}
        cols = ", ".join(values)
        self._sql(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(':' + c for c in values)})", values)

    def step(self) -> None:
        r, n = self.rnd, self.n
        for _ in range(r.randint(2, 5)):                           # categories: a chain, parents first
            cats = self._ids("categorias")
            parent = r.choice(cats) if cats and r.random() < 0.8 else None
            cid = self._new()
            self._ins("categorias", id=cid, nome=f"c{cid}", pai_id=parent)
        cats = self._ids("categorias")
        for c in r.sample(cats, min(len(cats), 3)):                 # rename (moves the row on PostgreSQL)
            self._sql("UPDATE categorias SET nome = :n WHERE id = :i", {"n": f"c{c}-{r.randint(0, 99)}", "i": c})
        for c in r.sample(cats, min(len(cats), 2)):                 # re-parent, a cycle now and then
            self._sql("UPDATE categorias SET pai_id = :p WHERE id = :i", {"p": r.choice(cats + [None]), "i": c})
        for _ in range(r.randint(2, 6)):
            pid = self._new()
            self._ins(n.produtos, id=pid, nome=f"p{pid}", **{n.categoria_id: r.choice(cats)})
            for tab in r.sample([1, 2, 3], r.randint(0, 3)):
                self._ins("precos", produto_id=pid, tabela=tab, valor=r.randint(1, 999))
        prods = self._ids(n.produtos)
        for _ in range(r.randint(1, 3)):
            vid = self._new()
            self._ins("vendas", id=vid, total=r.randint(1, 999))
            for item in range(1, r.randint(1, 4) + 1):
                self._ins("itens_venda", venda_id=vid, item=item, produto_id=r.choice(prods), qtd=r.randint(1, 9))
        items = self._sql("SELECT venda_id, item FROM itens_venda").fetchall()
        for v, i in r.sample(items, min(len(items), 3)):            # an item moves to another product
            self._sql("UPDATE itens_venda SET produto_id = :p, qtd = qtd + 1 WHERE venda_id = :v AND item = :i",
                      {"p": r.choice(prods), "v": v, "i": i})
        for p in r.sample(prods, min(len(prods), 2)):
            self._sql(f"UPDATE {n.produtos} SET {n.categoria_id} = :c, nome = nome WHERE id = :i",
                      {"c": r.choice(cats), "i": p})
        self._sql("UPDATE precos SET valor = valor + 1 WHERE tabela = :t", {"t": r.randint(1, 3)})
        for p in r.sample(prods, min(len(prods) // 4, 3)):          # a product with its items and prices
            self._delete_product(p)
        sales = self._ids("vendas")
        for v in r.sample(sales, min(len(sales) // 4, 2)):
            self._sql("DELETE FROM itens_venda WHERE venda_id = :v", {"v": v})
            self._sql("DELETE FROM vendas WHERE id = :v", {"v": v})
        if len(cats) > 6 and r.random() < 0.7:                       # a category with everything below it
            self._delete_category(r.choice(cats))

    def _delete_product(self, p: int) -> None:
        self._sql("DELETE FROM itens_venda WHERE produto_id = :p", {"p": p})
        self._sql("DELETE FROM precos WHERE produto_id = :p", {"p": p})
        self._sql(f"DELETE FROM {self.n.produtos} WHERE id = :p", {"p": p})

    def _delete_category(self, root: int) -> None:
        links = self._sql("SELECT id, pai_id FROM categorias").fetchall()
        below, todo = {root}, [root]
        while todo:
            c = todo.pop()
            for i, p in links:
                if p == c and i not in below:
                    below.add(i)
                    todo.append(i)
        prods = [p for p in self._ids(self.n.produtos)
                 if self._sql(f"SELECT {self.n.categoria_id} FROM {self.n.produtos} WHERE id = :p",
                              {"p": p}).scalar() in below]
        for p in prods:
            self._delete_product(p)
        params = [{"i": c} for c in below]
        self._sql("UPDATE categorias SET pai_id = NULL WHERE id = :i", params)   # a cycle among them, too
        self._sql("DELETE FROM categorias WHERE id = :i", params)
        # rows that pointed into the deleted set from outside it cannot exist: ``below`` is closed under children


def table_rows(url: str, table: str, names: Names, *, loja: int | None = None, store_side: bool) -> list[tuple]:
    """Every row of ``table`` (logical columns, key order); ``loja``: only that store's rows, without loja_id."""
    phys = names.table(table) if store_side else table
    cols = [names.categoria_id if store_side and c == "categoria_id" else c for c in COLUMNS[table]]
    where = "" if loja is None else f" WHERE loja_id = {int(loja)}"
    with get_engine(url).connect() as c:
        return [tuple(r) for r in c.execute(sa.text(
            f"SELECT {', '.join(cols)} FROM {phys}{where} ORDER BY {', '.join(KEYS[table])}"))]
