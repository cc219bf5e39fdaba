"""The origin's records of two-way tables: ``sinc_base`` (each row's hashes at the last sync,
per store and table) and ``conflitos_sincronizacao`` (every conflict, once)."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.twoway.merge import GROUPS, empty_base

BASE, CONFLICTS = "sinc_base", "conflitos_sincronizacao"
metadata = sa.MetaData()
base_table = sa.Table(
    BASE, metadata,
    sa.Column("loja", sa.String(64), primary_key=True),
    sa.Column("tabela", sa.String(128), primary_key=True),
    sa.Column("chave", sa.String(255), primary_key=True),
    *[sa.Column(f"h_{g}", sa.BigInteger, nullable=False) for g in GROUPS],
)
conflicts_table = sa.Table(
    CONFLICTS, metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("loja", sa.String(64), nullable=False),
    sa.Column("tabela", sa.String(128), nullable=False),
    sa.Column("chave", sa.String(255), nullable=False),
    sa.Column("tipo", sa.String(32), nullable=False),          # atualização | exclusão | chave_natural
    sa.Column("versao_origem", sa.Text),
    sa.Column("versao_loja", sa.Text),
    sa.Column("hash_base", sa.String(80)),
    sa.Column("regra", sa.String(64), nullable=False),
    sa.Column("resultado", sa.String(32), nullable=False),     # origem | loja | pendente | mesclado
    sa.Column("status", sa.String(16), nullable=False),        # pendente | resolvido
    sa.Column("assinatura", sa.String(255), nullable=False),
    sa.Column("criado_em", sa.DateTime, nullable=False),
    sa.Column("resolvido_em", sa.DateTime),
    sa.Index("ix_conflitos_loja_tabela", "loja", "tabela", "status"),
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def ensure_tables(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


def read_base(conn: Connection, store: str, table: str, keys: list[str] | None = None, fast=None,
              chunk_rows: int = 50_000) -> pa.Table:
    """The base rows of ``store``'s ``table``; only those of ``keys`` (key texts) when given. The
    whole base straight into Arrow by the engine's fastest reader (``fast``: the origin's ADBC or
    SQLite helper reader), not as Python rows (a 1M-row base: 2.5 s as rows)."""
    if not sa.inspect(conn).has_table(BASE):
        return empty_base()
    c = base_table.c
    if keys is None:
        from sinc_pipeline.io.reader import read_fastest
        names = ["chave", *[f"h_{g}" for g in GROUPS]]
        return read_fastest(conn, base_table, {n: n for n in (*names, "loja", "tabela")},
                            {"loja": store, "tabela": table}, None, empty_base().schema, chunk_rows, fast)
    stmt = sa.select(c.chave, *[c[f"h_{g}"] for g in GROUPS]).where(c.loja == store, c.tabela == table)
    rows = [r for i in range(0, len(keys), 500) for r in conn.execute(stmt.where(c.chave.in_(keys[i:i + 500])))]
    if not rows:
        return empty_base()
    cols = list(zip(*rows))
    return pa.table({"chave": pa.array(cols[0], pa.string()),
                     **{f"h_{g}": pa.array(np.asarray(cols[i + 1], np.int64)) for i, g in enumerate(GROUPS)}})


def write_base(conn: Connection, store: str, table: str, rows: pa.Table, drop: pa.Array,
               existing: pa.Array | None = None) -> int:
    """Replace the base rows of ``rows`` and delete those of ``drop``; returns rows written.
    ``existing``: the keys the base held when it was read (the caller holds the store's lock), so
    only those of ``rows`` are deleted first (a first sync deletes nothing); None: every one of
    ``rows``. The rows go in by the engine's bulk path (``io/bulk.py``), from Arrow."""
    from sinc_pipeline.io.bulk import bulk_insert
    c = base_table.c
    keys = rows.column("chave")
    if existing is not None:
        keys = keys.filter(pc.is_in(keys, value_set=existing))
    gone = list(dict.fromkeys(drop.to_pylist() + keys.to_pylist()))
    for i in range(0, len(gone), 500):
        conn.execute(sa.delete(base_table).where(c.loja == store, c.tabela == table, c.chave.in_(gone[i:i + 500])))
    if rows.num_rows:
        n = rows.num_rows
        bulk_insert(conn, BASE, rows.select(["chave", *[f"h_{g}" for g in GROUPS]])
                    .append_column("loja", pa.array([store] * n, pa.string()))
                    .append_column("tabela", pa.array([table] * n, pa.string())))
    return rows.num_rows + len(drop)


def waiting_keys(conn: Connection, store: str, table: str) -> set[str]:
    """Keys of the rows with a pending (manual) conflict: left alone until resolved."""
    if not sa.inspect(conn).has_table(CONFLICTS):
        return set()
    c = conflicts_table.c
    return set(conn.execute(sa.select(c.chave).where(c.loja == store, c.tabela == table, c.status == "pendente",
                                                     c.tipo != "chave_natural")).scalars())


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def record_conflicts(conn: Connection, store: str, table: str, conflicts: list[dict]) -> list[dict]:
    """Insert the conflicts not yet recorded (same store, table, key and signature): a rerun
    after a crash finds the same conflict and records nothing more. Returns those inserted."""
    if not conflicts:
        return []
    c = conflicts_table.c
    have = set(conn.execute(sa.select(c.chave, c.assinatura).where(
        c.loja == store, c.tabela == table, c.chave.in_([x["chave"] for x in conflicts]))).all())
    new = [x for x in conflicts if (x["chave"], x["assinatura"]) not in have]
    when = now()
    if new:
        conn.execute(sa.insert(conflicts_table), [
            {"loja": store, "tabela": table, "chave": x["chave"], "tipo": x["tipo"],
             "versao_origem": _json(x["versao_origem"]), "versao_loja": _json(x["versao_loja"]),
             "hash_base": x["hash_base"], "regra": x["regra"], "resultado": x["resultado"],
             "status": "pendente" if x["resultado"] == "pendente" else "resolvido", "assinatura": x["assinatura"],
             "criado_em": when, "resolvido_em": None if x["resultado"] == "pendente" else when} for x in new])
    return new


def conflict_rows(conn: Connection, ids: list[int] | None = None, status: str | None = None) -> list[dict]:
    if not sa.inspect(conn).has_table(CONFLICTS):
        return []
    q = sa.select(conflicts_table).order_by(conflicts_table.c.id)
    if ids is not None:
        q = q.where(conflicts_table.c.id.in_(ids))
    if status is not None:
        q = q.where(conflicts_table.c.status == status)
    return [dict(r._mapping) for r in conn.execute(q)]
