"""The fiscal quarantine seen by the post-sync check: a held sale is a known difference.

A row the fiscal gate keeps at the store (``fiscal/gate.py``) is missing at the origin until it is
fixed; the check of a send table counts it like a row held in ``sinc_erros`` (a WARN naming it),
not as an unexplained difference that would mark the table for a full repair at every run.
Entries come in ``sinc_erros``' shape (``sync/held_store.py`` ``COLUMNS``), their ``chave`` the
origin key's JSON restricted to ``key`` (the store's key lacks the origin's store column).
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.fiscal.quarantine import HELD, quarantine_table
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.held import key_json


def quarantined_entries(settings: Settings, conn: Connection, store_id: str, table: str,
                        key: list[str]) -> list[dict]:
    """The store's open quarantine entries of ``table``, read on ``conn`` (the origin)."""
    if settings.fiscal is None:
        return []
    name = settings.fiscal.quarantine_table
    if not sa.inspect(conn).has_table(name):
        return []
    q = quarantine_table(name)
    stmt = sa.select(q.c.registro, q.c.motivo, q.c.retido_em, q.c.verificado_em, q.c.tentativas).where(
        q.c.loja == store_id, q.c.tabela == table, q.c.status == HELD).order_by(q.c.retido_em, q.c.id)
    out = []
    for r in conn.execute(stmt):
        try:
            full = json.loads(r.registro)
        except ValueError:
            continue
        chave = key_json({k: full[k] for k in key if k in full})
        out.append({"loja": store_id, "tabela": table, "chave": chave, "coluna": None, "valor": None,
                    "mensagem": f"quarentena fiscal: {r.motivo}", "primeiro_em": r.retido_em,
                    "ultimo_em": r.verificado_em, "tentativas": r.tentativas})
    return out
