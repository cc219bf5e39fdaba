"""Foreign keys between the synced tables, reflected on both sides, and the direction's plan.

``reflect_edges`` reads each synced table's foreign keys at the origin (origin names) and at the
store (the store's names, mapped back through ``store_table`` and ``columns``) and keeps those
between tables of the same direction (``sync/plan.py`` ``Edge``). ``planned_units`` turns them
into the units to apply (refusing a config that contradicts them, see ``plan_problems``).
A table absent from a database is skipped here: ``core/layout.py`` names it when its unit runs.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.errors import SchemaError, naming_failures
from sinc_pipeline.settings import Settings, StoreConfig, TableConfig
from sinc_pipeline.sync.plan import Edge, plan_problems, plan_units, table_problems


def side_edges(conn: Connection, tables: list[TableConfig], side: str, url, role: str) -> list[Edge]:
    """The foreign keys declared in one database between ``tables`` (config names, logical columns)."""
    store = side == "store"
    by_name = {(t.target_name if store else t.name): t for t in tables}
    inspector = sa.inspect(conn)
    edges: list[Edge] = []
    for phys, t in by_name.items():
        try:
            with naming_failures("leitura das chaves estrangeiras", role=role, url=url, table=phys):
                fks = inspector.get_foreign_keys(phys)
        except sa.exc.NoSuchTableError:
            continue
        for fk in fks:
            parent = by_name.get(fk["referred_table"])
            if parent is None:
                continue
            back_child = {v: k for k, v in t.columns.items()} if store else {}
            back_parent = {v: k for k, v in parent.columns.items()} if store else {}
            edges.append(Edge(t.name, parent.name, tuple(back_child.get(c, c) for c in fk["constrained_columns"]),
                              tuple(back_parent.get(c, c) for c in fk["referred_columns"]), fk.get("name"), side,
                              (fk.get("options") or {}).get("ondelete")))
    return edges


def reflect_edges(settings: Settings, store: StoreConfig, tables: list[TableConfig]) -> list[Edge]:
    """The foreign keys between ``tables`` at the origin and at ``store`` (both lists, unioned)."""
    if not tables:
        return []
    with connect(settings.origin.url, "de origem") as conn:
        edges = side_edges(conn, tables, "origin", settings.origin.url, "de origem")
    with connect(store.url, f"da loja {store.id}") as conn:
        edges += side_edges(conn, tables, "store", store.url, f"da loja {store.id}")
    return edges


def check_plan(tables: list[TableConfig], edges: list[Edge], store_id: str) -> None:
    """Refuse, before anything is written, a config whose groups or deletes contradict the foreign keys."""
    problems = plan_problems(tables, edges)
    if problems:
        direction = "recebimento" if tables[0].direction == "receive" else "envio"
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SchemaError(f"A configuração contradiz as chaves estrangeiras (loja {store_id}, {direction}); nada foi "
                          f"gravado:\n{lines}")


def planned_units(settings: Settings, store_id: str, direction: str) -> tuple[list[list[TableConfig]], list[Edge]]:
    """The units of ``direction`` for ``store_id`` in apply order, and the foreign keys they were planned from."""
    store = settings.store(store_id)
    tables = [t for t in settings.tables if t.direction == direction]
    edges = reflect_edges(settings, store, tables)
    check_plan(tables, edges, store_id)
    return plan_units(tables, edges), edges



def plan_findings(settings: Settings, store: StoreConfig, origin: Connection, local: Connection) -> list:
    """For ``check --databases`` (``cli/dbcheck.py``): every contradiction between the config and
    the foreign keys of ``store``, both directions, as preflight findings."""
    from sinc_pipeline.core.preflight import Finding
    out = []
    for direction in ("send", "receive"):
        tables = [t for t in settings.tables if t.direction == direction]
        if not tables:
            continue
        edges = (side_edges(origin, tables, "origin", settings.origin.url, "de origem")
                 + side_edges(local, tables, "store", store.url, f"da loja {store.id}"))
        out += [Finding("erro", "chave_estrangeira", store.id, table, "-", text)
                for table, text in table_problems(tables, edges)]
    return out
