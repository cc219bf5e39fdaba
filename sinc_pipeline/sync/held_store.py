"""``sinc_erros``: the rows a store's sync holds back, on the side being written.

Like ``sinc_estado`` (the cursors), the table lives in the database the unit writes to: a
receive unit's held rows at the store, a send unit's at the origin (one table for every store,
by ``loja``). It is written in the unit's own transaction, so an entry exists exactly when its
row was held by a committed run. One entry per held row: ``primeiro_em`` when first held,
``ultimo_em`` and ``tentativas`` (the runs that held it) updated by every run that holds it
again; a run that reads the table's changes to the end without holding the row deletes the
entry (the row was applied, or the two sides agree by now). Times are UTC.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.owned import ID, TIMESTAMP, utcnow
from sinc_pipeline.settings import Settings, StoreConfig
from sinc_pipeline.sync.held import HeldRow, key_json

ERRORS_TABLE = "sinc_erros"
COLUMNS = ["loja", "tabela", "chave", "coluna", "valor", "mensagem", "primeiro_em", "ultimo_em", "tentativas"]


def errors_table() -> sa.Table:
    return sa.Table(
        ERRORS_TABLE, sa.MetaData(),
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("loja", sa.String(64), nullable=False),
        sa.Column("direcao", sa.String(16), nullable=False),
        sa.Column("tabela", sa.String(128), nullable=False),
        sa.Column("chave", sa.String(700), nullable=False),        # the row's key, JSON (sorted)
        sa.Column("operacao", sa.String(16), nullable=False),      # insert | update | delete
        sa.Column("coluna", sa.String(128)),
        sa.Column("valor", sa.String(64)),                         # a short excerpt of the value
        sa.Column("mensagem", sa.Text, nullable=False),            # the database's message (first line)
        sa.Column("primeiro_em", TIMESTAMP, nullable=False),
        sa.Column("ultimo_em", TIMESTAMP, nullable=False),
        sa.Column("tentativas", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Index(f"ix_{ERRORS_TABLE}_loja_tabela", "loja", "direcao", "tabela"),
        mysql_charset="utf8mb4",   # an excerpt may hold what the store's own (utf8mb3) tables cannot
    )


def _ensure(conn: Connection, url: str, role: str) -> None:
    """Create the table when absent. MariaDB commits DDL implicitly, so (as for the fiscal
    quarantine) server engines create it through a separate connection, never inside the unit's
    transaction; SQLite's DDL is transactional and its single writer holds the lock already."""
    table = errors_table()
    if conn.dialect.name == "sqlite":
        table.metadata.create_all(conn)
        return
    try:
        with connect(url, role) as own:
            table.metadata.create_all(own)
    except sa.exc.DBAPIError:
        with connect(url, role) as own:
            if not sa.inspect(own).has_table(ERRORS_TABLE):   # else: created meanwhile by another run
                raise


def record(conn: Connection, url: str, role: str, store_id: str, direction: str, tables: list[str],
           held: list[HeldRow], seen: set, final: bool, run_id: str | None) -> int:
    """Write this batch's held rows in the unit's transaction; ``seen`` (kept by the caller for
    the whole run) gathers the (table, key) held so far. On the ``final`` batch, the entries of
    the unit's tables not held in this run are deleted. Returns the entries deleted."""
    t = errors_table()
    if not held and not final:
        return 0
    if not sa.inspect(conn).has_table(ERRORS_TABLE):
        if not held:
            return 0
        _ensure(conn, url, role)
        open_rows = {}           # just created: nothing open (and MariaDB must not read it in this transaction)
    else:
        stmt = sa.select(t.c.id, t.c.tabela, t.c.chave, t.c.tentativas).where(
            t.c.loja == store_id, t.c.direcao == direction, t.c.tabela.in_(tables))
        open_rows = {(r.tabela, r.chave): r for r in conn.execute(stmt)}
    now, inserts = utcnow(), {}
    for h in held:
        k = (h.table, key_json(h.key))
        values = {"operacao": h.op, "coluna": h.column, "valor": h.value, "mensagem": h.message,
                  "ultimo_em": now, "run_id": run_id}
        old = open_rows.get(k)
        if old is not None:
            if k not in seen:
                values["tentativas"] = old.tentativas + 1
            conn.execute(sa.update(t).where(t.c.id == old.id).values(**values))
        elif k not in inserts:
            inserts[k] = {"loja": store_id, "direcao": direction, "tabela": h.table, "chave": k[1],
                          "primeiro_em": now, "tentativas": 1, **values}
        seen.add(k)
    if inserts:
        conn.execute(sa.insert(t), list(inserts.values()))
    gone = [r.id for k, r in open_rows.items() if k not in seen] if final else []
    if gone:
        conn.execute(sa.delete(t).where(t.c.id.in_(gone)))
    return len(gone)


# ------------------------------------------------------------------------------- reading them

def _side(settings: Settings, store: StoreConfig, direction: str) -> tuple[str, str]:
    return (settings.origin.url, "de origem") if direction == "send" else (store.url, f"da loja {store.id}")


def entries_on(conn: Connection, store_id: str, direction: str, table: str | None = None) -> list[dict]:
    """The entries in ``conn``'s database for a store and direction (optionally one table), oldest
    first; [] when the table does not exist yet."""
    if not sa.inspect(conn).has_table(ERRORS_TABLE):
        return []
    t = errors_table()
    stmt = sa.select(*[t.c[c] for c in COLUMNS]).where(t.c.loja == store_id, t.c.direcao == direction)
    if table is not None:
        stmt = stmt.where(t.c.tabela == table)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(t.c.primeiro_em, t.c.id))]


def held_entries(settings: Settings, store_id: str, direction: str, table: str | None = None) -> list[dict]:
    """A store's entries for one direction, read where that direction writes."""
    url, role = _side(settings, settings.store(store_id), direction)
    with connect(url, role) as conn:
        return entries_on(conn, store_id, direction, table)


def store_entries(settings: Settings, store_id: str) -> list[dict]:
    """Every entry of a store: its send tables' (at the origin) and its receive tables' (at the store)."""
    directions = {t.direction for t in settings.tables}
    return [e for d in ("send", "receive") if d in directions for e in held_entries(settings, store_id, d)]
