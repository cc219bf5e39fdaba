"""The fiscal quarantine at the origin: its table, and reading what a store has held.

Quarantine rows are never deleted. One row per hold: ``retido`` while held (``tentativas``
counts the runs that found it failing), then ``liberado``, or ``substituido`` when the reason
changed and a new row took over. Times are UTC.
"""
from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.owned import ID, TIMESTAMP
from sinc_pipeline.settings import Settings

HELD, RELEASED, REPLACED = "retido", "liberado", "substituido"


def quarantine_table(name: str) -> sa.Table:
    return sa.Table(
        name, sa.MetaData(),
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("loja", sa.String(64), nullable=False),
        sa.Column("tabela", sa.String(128), nullable=False),
        sa.Column("registro", sa.String(255), nullable=False),   # the row's key at the origin, JSON
        sa.Column("grupo", sa.String(64)),                       # the sale id the row belongs to
        sa.Column("documento", sa.String(255)),                  # the failing document(s), readable
        sa.Column("chave_acesso", sa.String(255)),
        sa.Column("motivo", sa.Text, nullable=False),
        sa.Column("dados", sa.Text),                             # the held row, JSON
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("retido_em", TIMESTAMP, nullable=False),
        sa.Column("ultimo_run_id", sa.String(64)),
        sa.Column("verificado_em", TIMESTAMP),
        sa.Column("tentativas", sa.Integer, nullable=False, default=1),
        sa.Column("encerrado_em", TIMESTAMP),
        sa.Column("encerrado_run_id", sa.String(64)),
        sa.Index(f"ix_{name}_loja_status", "loja", "status"),
    )



def ensure_quarantine_table(settings: Settings, conn: Connection | None = None) -> bool:
    """Create the quarantine table at the origin when absent; True if it was created now.

    MariaDB commits DDL implicitly, so there (and on PostgreSQL) the table is created through a
    separate connection, never inside a unit's transaction; SQLite's DDL is transactional and
    its single writer already holds the lock, so ``conn`` (the unit's connection) is used.
    """
    table = quarantine_table(settings.fiscal.quarantine_table)
    if conn is not None and conn.dialect.name == "sqlite":
        if sa.inspect(conn).has_table(table.name):
            return False
        table.metadata.create_all(conn)
        return True
    try:
        with connect(settings.origin.url, "de origem") as own:
            if sa.inspect(own).has_table(table.name):
                return False
            table.metadata.create_all(own)
        return True
    except sa.exc.DBAPIError:
        with connect(settings.origin.url, "de origem") as own:
            if sa.inspect(own).has_table(table.name):    # created meanwhile by another store's run
                return False
        raise


# --------------------------------------------------------------------------- reading the quarantine

def open_entries(settings: Settings, store_id: str | None = None) -> pd.DataFrame:
    """Entries still held (status ``retido``), oldest first; empty when the table does not exist."""
    name = settings.fiscal.quarantine_table
    cols = ["loja", "tabela", "registro", "grupo", "documento", "chave_acesso", "motivo", "dados", "run_id",
            "retido_em", "tentativas", "verificado_em"]
    with connect(settings.origin.url, "de origem") as conn:
        if not sa.inspect(conn).has_table(name):
            return pd.DataFrame(columns=cols)
        q = quarantine_table(name)
        stmt = sa.select(*[q.c[c] for c in cols]).where(q.c.status == HELD).order_by(q.c.retido_em, q.c.id)
        if store_id is not None:
            stmt = stmt.where(q.c.loja == store_id)
        return pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=cols)


def held_values(settings: Settings, store_id: str, columns: list[str]) -> set[tuple]:
    """Values of ``columns`` in the rows a store has in quarantine (e.g. the products of held
    sale items): the stock alignment leaves these alone until the sale reaches the origin."""
    out = set()
    for text in open_entries(settings, store_id)["dados"]:
        try:
            row = json.loads(text or "{}")
        except ValueError:
            continue
        if all(c in row and row[c] is not None for c in columns):
            out.add(tuple(row[c] for c in columns))
    return out
