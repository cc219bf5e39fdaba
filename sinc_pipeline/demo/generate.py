"""Demo data: an origin and stores with realistic retail data, of any size.

``build_demo(folder)`` creates ``origem.db``, ``loja_01.db`` and ``loja_02.db`` (SQLite) and
returns the matching config text. The stores start slightly out of step with the origin
(stale prices, missing products, sales not yet sent) so the first sync has work to do.
``products_table(n)`` makes a ``produtos`` Arrow table of any size for the benchmarks.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from sinc_pipeline.io.bulk import bulk_insert
from sinc_pipeline.core.db import get_engine
from sinc_pipeline.demo.schema import origin_metadata, store_metadata
from sinc_pipeline.fiscal.rules import build_access_key, cnpj_check_digits

ROOT_CNPJ = "11222333"
NOW = dt.datetime(2026, 11, 27, 18, 0, 0)

_WORDS = ["Café Torrado", "Açúcar Refinado", "Feijão Carioca", "Arroz Agulhinha", "Pão de Queijo",
          "Maçã Gala", "Guaraná", "Leite Integral", "Sabão em Pó", "Óleo de Soja", "Macarrão Espaguete",
          "Biscoito Maizena", "Farinha de Mandioca", "Requeijão Cremoso", "Coxinha Congelada",
          "Pimentão Vermelho", "Limão Taiti", "Água Mineral", "Chocolate ao Leite", "Kit Festa 🎉"]
_SIZES = ["500g", "1kg", "2L", "350ml", "200g", "5kg", "kg", "un"]
_FIRST = ["José", "João", "Conceição", "Antônio", "Márcia", "Luíza", "Fábio", "Cecília", "Sebastião",
          "Inês", "Raimundo", "Graça", "Júlio", "Letícia", "Estêvão"]
_LAST = ["da Silva", "Gonçalves", "Araújo", "Conceição", "Magalhães", "Simões", "Brandão", "Falcão",
         "São Pedro", "Guimarães", "Lopes", "Pereira"]


def store_cnpj(branch: int) -> str:
    base = f"{ROOT_CNPJ}{branch:04d}"
    return base + cnpj_check_digits(base)


def cpf(rng: random.Random) -> str:
    d = [rng.randrange(10) for _ in range(9)]
    for n in (10, 11):
        s = sum(v * w for v, w in zip(d, range(n, 1, -1)))
        d.append(0 if s % 11 < 2 else 11 - s % 11)
    return "".join(map(str, d))


def products_table(n: int, seed: int = 7, start_id: int = 1, with_cost: bool = True) -> pa.Table:
    """``n`` products as an Arrow table in the origin's layout (vectorised enough for 1M rows)."""
    rng = random.Random(seed)
    ids = list(range(start_id, start_id + n))
    cents = [rng.randrange(99, 99_999) for _ in ids]
    base = NOW - dt.timedelta(days=30)
    cols = {
        "id": pa.array(ids, pa.int64()),
        "ean": pa.array([f"789{(i * 7919) % 10**9:09d}{i % 10}" for i in ids], pa.string()),
        "ncm": pa.array([f"{(i * 37) % 10**8:08d}" for i in ids], pa.string()),
        "descricao": pa.array([f"{_WORDS[i % len(_WORDS)]} {_SIZES[i % len(_SIZES)]} #{i}" for i in ids], pa.string()),
        "unidade": pa.array(["KG" if i % 8 == 6 else "UN" for i in ids], pa.string()),
        "preco": pa.array([Decimal(c).scaleb(-2) for c in cents], pa.decimal128(12, 2)),
    }
    if with_cost:
        cols["custo"] = pa.array([Decimal(c * 6 // 10).scaleb(-2) for c in cents], pa.decimal128(12, 2))
    cols["ativo"] = pa.array([i % 50 != 0 for i in ids], pa.bool_())
    cols["atualizado_em"] = pa.array([base + dt.timedelta(seconds=i % 2_000_000) for i in ids], pa.timestamp("us"))
    return pa.table(cols)


def _create(url: str, md: sa.MetaData) -> sa.Engine:
    eng = get_engine(url)
    md.create_all(eng)
    return eng


def _insert(eng: sa.Engine, table: str, rows: list[dict]) -> None:
    if rows:
        with eng.begin() as conn:
            conn.execute(sa.text("SELECT 1"))
            conn.execute(sa.Table(table, sa.MetaData(), autoload_with=conn).insert(), rows)


def demo_stores() -> list[dict]:
    return [
        {"id": "loja_01", "loja_id": 1, "nome": "Mercado Central — Centro", "cidade": "São Paulo",
         "cnpj": store_cnpj(1), "nfe_series": 1, "nfce_series": 11, "contingency_series": 21},
        {"id": "loja_02", "loja_id": 2, "nome": "Mercado Central — Vila Açores", "cidade": "Santos",
         "cnpj": store_cnpj(2), "nfe_series": 2, "nfce_series": 12, "contingency_series": 22},
    ]


def build_demo(folder: str | Path, **sizes) -> dict:
    """Create the demo SQLite databases in ``folder``; returns {origin_url, stores: [...]}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stores = demo_stores()
    for s in stores:
        s["url"] = f"sqlite:///{folder / (s['id'] + '.db')}"
    return populate(f"sqlite:///{folder / 'origem.db'}", stores, **sizes)


def populate(origin_url: str, stores: list[dict], *, products: int = 400, customers: int = 120,
             sales_per_store: int = 150, seed: int = 42) -> dict:
    """Create the schema and demo data at ``origin_url`` and at each store's ``url``."""
    rng = random.Random(seed)
    origin = _create(origin_url, origin_metadata())
    lojas = [{"id": s["loja_id"], "nome": s["nome"], "cnpj": s["cnpj"], "cidade": s["cidade"], "uf": "SP"}
             for s in stores]
    prods = products_table(products, seed)
    # Each store's customers (ids unique across the demo, loja_id by turns); a few registered at a
    # store are not at HQ yet, and the last tenth registered at HQ are not at the store yet.
    # (``extra`` draws what older demos did not have, so the rest of the data stays as it was)
    extra = random.Random(seed + 1)
    clientes = [_customer(rng, extra, i, stores[(i - 1) % len(stores)]["loja_id"]) for i in range(1, customers + 1)]
    local = [_customer(extra, extra, customers + n * len(stores) + k + 1, s["loja_id"])
             for n in range(2) for k, s in enumerate(stores)]
    with origin.begin() as conn:
        bulk_insert(conn, "produtos", prods)
    _insert(origin, "lojas", lojas)
    _insert(origin, "clientes", clientes)
    hq_only = {c["id"] for c in clientes[int(len(clientes) * 0.9):]}
    price = {r["id"]: r["preco"] for r in prods.select(["id", "preco"]).to_pylist()}
    estoque_o, sales_o, items_o, docs_o = [], [], [], []
    for s in stores:
        store = _create(s["url"], store_metadata())
        sales, items, docs = _sales(rng, s, price, sales_per_store, customers, stores.index(s), len(stores))
        stock = [{"produto_id": p, "quantidade": Decimal(rng.randrange(0, 200_000)).scaleb(-3),
                  "atualizado_em": NOW - dt.timedelta(hours=p % 48)} for p in price]
        sent = int(len(sales) * 0.8)  # the last 20% of sales are not at the origin yet
        sent_ids = {v["id"] for v in sales[:sent]}
        estoque_o += [dict(r, loja_id=s["loja_id"]) for r in stock]
        sales_o += [dict(r, loja_id=s["loja_id"]) for r in sales[:sent]]
        items_o += [dict(r, loja_id=s["loja_id"]) for r in items if r["venda_id"] in sent_ids]
        docs_o += [dict(r, loja_id=s["loja_id"]) for r in docs if r["venda_id"] in sent_ids]
        # The store is a little behind: 5% of products missing, 5% with an old price, stock drifted.
        stale = prods.filter(pa.array([i % 20 != 3 for i in range(prods.num_rows)]))
        stale_rows = stale.drop_columns(["custo"]).to_pylist()
        for r in stale_rows[::20]:
            r["preco"] = r["preco"] - Decimal("0.10")
        with store.begin() as conn:
            bulk_insert(conn, "produto", pa.Table.from_pylist(stale_rows, schema=stale.drop_columns(["custo"]).schema),
                        {"preco": "preco_venda"})
        _insert(store, "lojas", lojas)
        _insert(store, "clientes", [{k: v for k, v in c.items() if k != "loja_id"} for c in clientes + local
                                    if c["loja_id"] == s["loja_id"] and c["id"] not in hq_only])
        _insert(store, "estoque", [dict(r, quantidade=r["quantidade"] + (Decimal("1.000") if r["produto_id"] % 25 == 0 else 0))
                                   for r in stock])
        _insert(store, "vendas", sales)
        _insert(store, "venda_itens", items)
        _insert(store, "documentos_fiscais", docs)
    _insert(origin, "estoque", estoque_o)
    _insert(origin, "vendas", sales_o)
    _insert(origin, "venda_itens", items_o)
    _insert(origin, "documentos_fiscais", docs_o)
    return {"origin_url": origin_url, "stores": stores}


def _customer(rng: random.Random, extra: random.Random, i: int, loja_id: int) -> dict:
    return {"loja_id": loja_id, "id": i, "nome": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            "cpf_cnpj": cpf(rng) if i % 10 else store_cnpj(100 + i),
            "email": None if i % 7 == 0 else f"cliente{i}@exemplo.com.br",
            "limite_credito": Decimal(rng.randrange(0, 500_000)).scaleb(-2), "bloqueado": i % 29 == 0,
            "telefone": f"(11) 9{extra.randrange(10**7, 10**8)}",
            "endereco": f"Rua {extra.choice(_LAST)}, {i * 7 % 900 + 1}",
            "atualizado_em": NOW - dt.timedelta(days=i % 20)}


def _own(cid: int, index: int, n_stores: int, customers: int) -> int:
    """A customer of the store ``index`` near ``cid`` (customers are the stores' by turns)."""
    own = cid - (cid - 1) % n_stores + index
    return own if own <= customers else own - n_stores


def _sales(rng: random.Random, s: dict, price: dict, n: int, customers: int, index: int = 0, n_stores: int = 1):
    sales, items, docs = [], [], []
    product_ids = list(price)
    number = {55: 0, 65: 0, "cont": 0}
    t = NOW - dt.timedelta(days=3)
    for vid in range(1, n + 1):
        t += dt.timedelta(minutes=rng.randrange(1, 25))
        total = Decimal("0.00")
        for item in range(1, rng.randrange(2, 6)):
            pid = rng.choice(product_ids)
            qty = Decimal(rng.randrange(1, 3000)).scaleb(-3) if pid % 8 == 6 else Decimal(rng.randrange(1, 5))
            line = (price[pid] * qty).quantize(Decimal("0.01"))
            total += line
            items.append({"venda_id": vid, "item": item, "produto_id": pid, "quantidade": qty,
                          "preco_unitario": price[pid], "total": line, "atualizado_em": t})
        status = "cancelada" if vid % 37 == 0 else "concluida"
        sales.append({"id": vid, "cliente_id": _own(rng.randrange(1, customers + 1), index, n_stores, customers)
                      if vid % 3 == 0 else None,
                      "emitida_em": t, "total": total, "status": status, "atualizado_em": t})
        if vid % 15 == 0:
            model, series, tp = 55, s["nfe_series"], 1
            number[55] += 1
            num = number[55]
        elif vid % 11 == 0:
            model, series, tp = 65, s["contingency_series"], 9
            number["cont"] += 1
            num = number["cont"]
        else:
            model, series, tp = 65, s["nfce_series"], 1
            number[65] += 1
            num = number[65]
        key = build_access_key(35, t.strftime("%y%m"), s["cnpj"], model, series, num, tp, rng.randrange(10**8))
        doc_status = "cancelada" if status == "cancelada" else ("contingencia" if tp == 9 and vid > n - 30 else "autorizada")
        docs.append({"id": vid, "venda_id": vid, "cnpj": s["cnpj"], "modelo": model, "serie": series, "numero": num,
                     "tp_emis": tp, "chave": key, "status": doc_status, "emitido_em": t, "atualizado_em": t})
    return sales, items, docs


CONFIG_TEMPLATE = """\
# sinc_pipeline configuration (ERP: Sistema > Sincronização > Configuração).
# Reference: README.md, section "Configuração". Validate with: python -m sinc_pipeline check
origin:
  url: {origin_url}
intervals:
  send_minutes: 5        # Intervalo Enviar (Minutos)
  receive_minutes: 5     # Intervalo Receber (Minutos)
stores:
{stores}
tables:                  # in dependency order (parents first)
  - name: lojas
    direction: receive
    key: [id]
  - name: produtos
    direction: receive
    key: [id]
    store_table: produto
    columns: {{preco: preco_venda}}
    exclude: [custo]
    cursor: atualizado_em
{customers}
  - name: vendas
    direction: send
    key: [loja_id, id]
    scoped: true
    group: venda
{sales_mode}
  - name: venda_itens
    direction: send
    key: [loja_id, venda_id, item]
    scoped: true
    group: venda
{sales_mode}
  - name: documentos_fiscais
    direction: send
    key: [loja_id, id]
    scoped: true
    group: venda
{sales_mode}
snapshots:
  root: data/snapshots
  keep_full: 7
stock:
  table: estoque
  key: [produto_id]
  quantity: quantidade
  scoped: true
  adjustments_table: ajustes_estoque
fiscal:
  table: documentos_fiscais
  columns: {{cnpj: cnpj, model: modelo, series: serie, number: numero,
            emission_type: tp_emis, key: chave, status: status, issued_at: emitido_em}}
"""

STORE_TEMPLATE = """\
  - id: {id}
    url: {url}
    filter: {{loja_id: {loja_id}}}
    cnpj: "{cnpj}"
    nfe_series: {nfe_series}          # Série para NF-e
    nfce_series: {nfce_series}        # Série para NFC-e
    contingency_series: {contingency_series} # Série Contingência"""


JOURNAL_MODE = "    capture: journal     # the store's triggers record each change (instalar_captura)"
CURSOR_MODE = "    cursor: atualizado_em"

CUSTOMERS_BOTH = """\
  - name: clientes         # registered at the stores and at HQ: synced both ways ("Two-way tables")
    direction: both
    key: [loja_id, id]     # each store's customers: HQ registers one under the store's loja_id
    scoped: true
    conflicts: origin_wins # the same column edited at both ends between syncs: HQ's edit wins
    origin_columns: [limite_credito, bloqueado]   # HQ owns the credit (its edit always wins)
    store_columns: [telefone, endereco]           # the store owns the contact details
    natural_key: [cpf_cnpj]                       # the same CPF under two keys is reported"""
CUSTOMERS_BOTH_JOURNAL = CUSTOMERS_BOTH + "\n    capture: journal     # triggers at HQ and at each store"
CUSTOMERS_RECEIVE = """\
  - name: clientes
    direction: receive
    key: [loja_id, id]
    scoped: true"""


def config_text(demo: dict, sales_journal: bool = True, customers_twoway: bool = True) -> str:
    """The demo's config. The sales group and the two-way ``clientes`` sync in journal mode (the
    demo shows it); with ``sales_journal=False`` no table is in journal mode (sales go by their
    ``atualizado_em`` cursor, ``clientes`` by a full comparison: what most tests build on).
    ``customers_twoway=False``: ``clientes`` is a one-way (receive) table, for tests of one-way
    behaviour."""
    stores = "\n".join(STORE_TEMPLATE.format(**s) for s in demo["stores"])
    customers = (CUSTOMERS_RECEIVE if not customers_twoway else
                 CUSTOMERS_BOTH_JOURNAL if sales_journal else CUSTOMERS_BOTH)
    return CONFIG_TEMPLATE.format(origin_url=demo["origin_url"], stores=stores, customers=customers,
                                  sales_mode=JOURNAL_MODE if sales_journal else CURSOR_MODE)
