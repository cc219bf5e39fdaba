"""After a journal sync: the consumer's position recorded on the producing side, and pruning.

The position that counts is the one saved at the target with the data (``sync/state.py``);
the copy kept here (``sinc_captura_posicoes``) only tells the producer how far every consumer
got. Entries are deleted once every consumer of the producer (every store, for the origin)
has passed them, and after ``max_age_s`` whatever the positions. Whatever is deleted raises
the horizon (``sinc_captura_horizonte``): a consumer whose position is below it (it fell
behind, or was restored from an old snapshot) compares its tables in full once, then goes on
in journal mode. One bound for all tables of a producer: the sequence is shared, and a gap
left by another table's pruned entries must not look like an open transaction (MariaDB).
On SQLite and MariaDB the highest entry is always kept (the head a restored producer is
recognised by).
"""
from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.positions import prune_bound

log = logging.getLogger(__name__)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def record_positions(conn: Connection, store: str, direction: str, positions: dict[str, int]) -> None:
    """Save ``store``'s position per captured table (physical name) on the producing side."""
    for table, pos in positions.items():
        where = {"l": store, "t": table, "d": direction}
        conn.execute(sa.text(f"DELETE FROM {q.POSITIONS} WHERE loja = :l AND tabela = :t AND direcao = :d"), where)
        conn.execute(sa.text(f"INSERT INTO {q.POSITIONS} (loja, tabela, direcao, posicao, atualizado_em) "
                             "VALUES (:l, :t, :d, :p, :a)"), {**where, "p": int(pos), "a": _now()})


def consumer_positions(conn: Connection, consumers: list[tuple[str, str, str]]) -> list[int | None]:
    """The recorded position of each (store, table, direction) consuming this producer."""
    have = {(r[0], r[1], r[2]): int(r[3]) for r in conn.execute(
        sa.text(f"SELECT loja, tabela, direcao, posicao FROM {q.POSITIONS}"))}
    return [have.get(p) for p in consumers]


def prune(conn: Connection, engine: str, bound: int | None, max_age_s: int | None) -> int:
    """Delete entries every consumer passed (``bound``) and entries older than ``max_age_s``;
    raise the horizon over what was deleted. Returns the number of entries deleted."""
    engine = q.engine_family(engine)
    col = "transacao" if engine == "postgresql" else "seq"
    keep = "" if engine == "postgresql" else f" AND seq < (SELECT m FROM (SELECT MAX(seq) AS m FROM {q.CHANGES}) x)"
    horizon = int(conn.execute(sa.text(f"SELECT horizonte FROM {q.HORIZON} WHERE id = 1")).scalar() or 0)
    deleted, new_horizon = 0, horizon
    if bound is not None:
        cond = f"transacao < {int(bound)}" if engine == "postgresql" else f"seq <= {int(bound)}"
        n = conn.execute(sa.text(f"DELETE FROM {q.CHANGES} WHERE {cond}{keep}")).rowcount or 0
        if n:
            deleted, new_horizon = deleted + n, max(new_horizon, int(bound))
    if max_age_s is not None:
        old = q.age_condition_sql(engine, max_age_s)
        top = conn.execute(sa.text(f"SELECT MAX({col}) FROM {q.CHANGES} WHERE {old}{keep}")).scalar()
        if top is not None:
            deleted += conn.execute(sa.text(f"DELETE FROM {q.CHANGES} WHERE {col} <= {int(top)}{keep}")).rowcount or 0
            new_horizon = max(new_horizon, int(top) + (1 if engine == "postgresql" else 0))
    if new_horizon != horizon:
        conn.execute(sa.text(f"UPDATE {q.HORIZON} SET horizonte = :h, atualizado_em = :a WHERE id = 1"),
                     {"h": new_horizon, "a": _now()})
    return deleted


def after_sync(conn: Connection, store: str, direction: str, positions: dict[str, int],
               consumers: list[tuple[str, str, str]], max_age_s: int | None) -> int:
    """Record ``store``'s positions, then prune below every consumer's (``consumers``: every
    (store, table, direction) reading this producer's journal: one bound for all of them, since
    the sequence is shared). Runs in the caller's transaction."""
    record_positions(conn, store, direction, positions)
    bound = prune_bound(consumer_positions(conn, consumers))
    return prune(conn, conn.dialect.name, bound, max_age_s)
