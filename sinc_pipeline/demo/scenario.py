"""The demo's two-way story: customers edited at HQ and at the stores between two syncs.

``edit_customers(settings)`` makes, after a first sync, the edits that show each case of the
two-way ``clientes`` table (``README``, "Two-way tables"), and returns what it did as lines:

* loja_01, the same customer's ``email`` (a shared column) edited at HQ and at the store: a
  conflict, decided by the table's rule (``origin_wins``: HQ's email stays, at both ends);
* loja_01, another customer: HQ raises ``limite_credito`` and blocks it, the store changes its
  ``telefone``: different owners' columns, merged without a conflict;
* loja_02, a customer deleted at the store while HQ changed its credit limit: a conflict
  (``exclusão``) the update wins: the row comes back at the store;
* a new customer registered at each end (HQ registers one for loja_02, loja_01 one of its own).

``conflict_lines(settings)`` renders the recorded conflicts for the console.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from sinc_pipeline.core.db import get_engine
from sinc_pipeline.settings import Settings
from sinc_pipeline.twoway.tables import conflict_rows

WHEN = dt.datetime(2026, 11, 27, 19, 0, 0)


def _clientes(conn) -> sa.Table:
    return sa.Table("clientes", sa.MetaData(), autoload_with=conn)


def _first_ids(conn, where: str, params: dict, n: int) -> list[int]:
    return [r[0] for r in conn.execute(sa.text(f"SELECT id FROM clientes WHERE {where} ORDER BY id LIMIT {n}"),
                                       params)]


def edit_customers(settings: Settings) -> list[str]:
    s1, s2 = settings.stores[0], settings.stores[1]
    l1, l2 = s1.filter["loja_id"], s2.filter["loja_id"]
    origin, store1, store2 = (get_engine(u) for u in (settings.origin.url, s1.url, s2.url))
    with store1.connect() as c:
        a, b = _first_ids(c, "1 = 1", {}, 2)
    with store2.connect() as c:
        (d,) = _first_ids(c, "1 = 1", {}, 1)
    with origin.connect() as c:
        top = c.execute(sa.text("SELECT MAX(id) FROM clientes")).scalar() or 0
    new_hq, new_store = top + 1, top + 2
    with origin.begin() as c:
        t = _clientes(c)
        at = lambda loja, i: (t.c.loja_id == loja) & (t.c.id == i)   # noqa: E731
        c.execute(t.update().where(at(l1, a)).values(email="financeiro@matriz.exemplo.com.br", atualizado_em=WHEN))
        c.execute(t.update().where(at(l1, b)).values(limite_credito=Decimal("2500.00"), bloqueado=True))
        c.execute(t.update().where(at(l2, d)).values(limite_credito=Decimal("800.00")))
        c.execute(t.insert().values(loja_id=l2, id=new_hq, nome="Cadastro da Matriz", limite_credito=Decimal("1000.00"),
                                    bloqueado=False, atualizado_em=WHEN))
    with store1.begin() as c:
        t = _clientes(c)
        c.execute(t.update().where(t.c.id == a).values(email="cliente.novo@exemplo.com.br",
                                                       atualizado_em=WHEN + dt.timedelta(minutes=5)))
        c.execute(t.update().where(t.c.id == b).values(telefone="(11) 98888-0000"))
        c.execute(t.insert().values(id=new_store, nome="Cadastro do Caixa", telefone="(11) 97777-0000",
                                    endereco="Rua Nova, 1", atualizado_em=WHEN))
    with store2.begin() as c:
        t = _clientes(c)
        c.execute(t.delete().where(t.c.id == d))
    return [
        f"{s1.id}, cliente {a}: email alterado na matriz e na loja (conflito; regra da tabela)",
        f"{s1.id}, cliente {b}: limite e bloqueio na matriz, telefone na loja (colunas de donos diferentes: mescla)",
        f"{s2.id}, cliente {d}: excluído na loja, limite alterado na matriz (conflito de exclusão: a alteração vence)",
        f"{s2.id}, cliente {new_hq}: cadastrado na matriz; {s1.id}, cliente {new_store}: cadastrado na loja",
    ]


OUTCOME = {"origem": "vence a origem", "loja": "vence a loja", "pendente": "pendente (resolver_conflitos)",
           "mesclado": "mesclado"}


def conflict_lines(settings: Settings) -> list[str]:
    from sinc_pipeline.core.db import connect
    with connect(settings.origin.url, "de origem") as oc:
        found = conflict_rows(oc)
    return [f"#{c['id']} {c['loja']} {c['tabela']} chave {c['chave']}: {c['tipo']}, regra {c['regra']} → "
            f"{OUTCOME.get(c['resultado'], c['resultado'])}"
            f"{' (a alteração vence a exclusão: a linha volta)' if c['tipo'] == 'exclusão' else ''} ({c['status']})"
            for c in found]
