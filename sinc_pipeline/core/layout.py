"""Run-time schema resolution: what the config names must exist, before anything is written.

``resolve_plan`` reflects a table on both sides and returns a ``TablePlan``: the synced
columns under their *logical* (origin) names, each side's physical names, keys, the store
filter for each side and the canonical Arrow schema. A missing table or column is a
``SchemaError`` naming the database (password hidden), the table and the column.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.settings import StoreConfig, TableConfig
from sinc_pipeline.settings.models import TableMapping
from sinc_pipeline.core.db import redact
from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.sync.mapping import Mapping
from sinc_pipeline.core.types import arrow_type


@dataclass(frozen=True)
class StoreScope:
    """Which rows of a table are a store's, on each side: the one store-key rule.

    A scoped table is filtered by the store's ``filter`` (origin column names) on both sides. A
    store copy may lack the filter columns (a checkout database holds only its own rows): those
    are ``absent`` there, dropped from the store's key and filter, and added back as constants
    when the store's rows are sent."""
    filters: dict                  # origin filter column -> value; empty when not scoped
    absent: tuple[str, ...]        # filter columns the store's table does not have

    @property
    def store_filters(self) -> dict:
        """The filter restricted to the columns the store has (origin names)."""
        return {c: v for c, v in self.filters.items() if c not in self.absent}

    def store_key(self, key: list[str]) -> list[str]:
        """``key`` without the columns the store lacks (origin names)."""
        return [k for k in key if k not in self.absent]


def store_scope(cfg: TableMapping, store: StoreConfig, store_columns) -> StoreScope:
    """The scope of ``cfg`` for ``store`` whose table has ``store_columns`` (the store's names)."""
    filters = dict(store.filter) if cfg.scoped else {}
    have = set(store_columns)
    return StoreScope(filters, tuple(c for c in filters if cfg.store_column(c) not in have))


def reflect_table(conn: Connection, name: str, url: str, role: str) -> sa.Table:
    try:
        return sa.Table(name, sa.MetaData(), autoload_with=conn)
    except sa.exc.NoSuchTableError:
        raise SchemaError(
            f"Tabela {name!r} não existe no banco {role} {redact(url)}. "
            "Dica: crie a tabela, corrija 'name'/'store_table' na configuração ou rode criar_base_loja."
        ) from None


def require_columns(table: sa.Table, columns: list[str], url: str, role: str, what: str) -> None:
    for c in columns:
        if c not in table.c:
            have = ", ".join(table.c.keys())
            raise SchemaError(
                f"Coluna {c!r} ({what}) não existe na tabela {table.name!r} do banco {role} {redact(url)}. "
                f"Colunas existentes: {have}. Dica: corrija 'columns', 'key', 'exclude' ou 'cursor' na configuração."
            )


@dataclass
class TablePlan:
    config: TableConfig
    origin: sa.Table
    store: sa.Table
    mapping: Mapping
    schema: pa.Schema                     # canonical, logical names, synced columns only
    origin_filter: dict = field(default_factory=dict)   # logical col -> value (origin side)
    store_filter: dict = field(default_factory=dict)    # logical col -> value (store side, present cols)

    @property
    def key(self) -> list[str]:
        return self.mapping.key

    @property
    def columns(self) -> list[str]:
        return self.mapping.columns

    # "source" and "target" depend on the direction
    def side(self, role: str) -> tuple[sa.Table, dict, dict[str, str]]:
        """(table, filter in logical names, logical->physical names) for 'origin' or 'store'."""
        if role == "origin":
            return self.origin, self.origin_filter, {c: c for c in self.columns}
        return self.store, self.store_filter, self.mapping.physical


def origin_layout(table: TableConfig, store: StoreConfig, origin_conn: Connection, origin_url: str,
                  store_columns: set[str]) -> tuple[sa.Table, Mapping, StoreScope]:
    """Reflect the origin table, check every name the config gives it, and derive the mapping to
    a store table that has ``store_columns`` (filter columns it lacks are dropped).

    Returns (origin table, mapping, the store's scope). Shared by the sync and by criar_base_loja.
    """
    o = reflect_table(origin_conn, table.name, origin_url, "de origem")
    scope = store_scope(table, store, store_columns)
    filter_cols = list(scope.filters)
    require_columns(o, table.key, origin_url, "de origem", "chave")
    require_columns(o, list(table.columns) + table.exclude + filter_cols, origin_url, "de origem", "configuração")
    if table.cursor:
        require_columns(o, [table.cursor], origin_url, "de origem", "cursor")
    logical = [c for c in o.c.keys() if c not in table.exclude]
    dropped = list(scope.absent)
    if table.cursor and table.cursor in dropped:
        raise SchemaError(f"O cursor {table.cursor!r} da tabela {table.name!r} não pode ser a coluna de filtro. "
                          "Dica: escolha outra coluna de cursor.")
    mapping = Mapping.build(logical, table.key, table.columns, dropped, {c: scope.filters[c] for c in dropped})
    return o, mapping, scope


def resolve_plan(table: TableConfig, store: StoreConfig, origin_conn: Connection, origin_url: str,
                 store_conn: Connection, store_url: str) -> TablePlan:
    s = reflect_table(store_conn, table.target_name, store_url, f"da loja {store.id}")
    o, mapping, scope = origin_layout(table, store, origin_conn, origin_url, set(s.c.keys()))
    for col in mapping.store_columns:
        phys = mapping.physical[col]
        if phys not in s.c:
            raise SchemaError(
                f"Coluna {phys!r} não existe na tabela {s.name!r} do banco da loja {store.id} {redact(store_url)} "
                f"(coluna {col!r} da origem). Dica: mapeie-a em 'columns' ou acrescente-a a 'exclude'."
            )
    schema = pa.schema([(c, arrow_type(o.c[c].type)) for c in mapping.columns])
    return TablePlan(table, o, s, mapping, schema, dict(scope.filters), scope.store_filters)
