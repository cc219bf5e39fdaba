"""Run-time schema resolution: what the config names must exist, before anything is written.

``resolve_plan`` reflects a table on both sides and returns a ``TablePlan``: the synced
columns under their *logical* (origin) names, each side's physical names, keys, the store
filter for each side and the canonical Arrow schema. A missing table or column is a
``SchemaError`` naming the database (password hidden), the table and the column.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.settings import StoreConfig, TableConfig
from sinc_pipeline.settings.models import TableMapping
from sinc_pipeline.core.compat import pair
from sinc_pipeline.core.db import redact
from sinc_pipeline.core.errors import SchemaError, naming_failures
from sinc_pipeline.core.logs import warn_once
from sinc_pipeline.core.preflight import Finding
from sinc_pipeline.core.probes import Place, preflight
from sinc_pipeline.sync.mapping import Mapping
from sinc_pipeline.core.types import arrow_type, warn_unknown_types


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


_INTEGER_TEXT = re.compile(r"^-?[0-9]+$")
_NUMBER_TEXT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def check_filter_values(table: sa.Table, filters: dict, store: StoreConfig, url: str, role: str) -> None:
    """Each of the store's filter values fits its column's reflected type (an integer column gets
    an integer, a text column a text), else a ``SchemaError`` naming the store, column, value and
    type. Values are always bound, never spliced into SQL: this catches a wrong filter before it
    selects (or labels a sent row with) the wrong store."""
    for column, value in filters.items():
        if column not in table.c:
            continue
        t = arrow_type(table.c[column].type)
        text = isinstance(value, str)
        ok = True
        if pa.types.is_integer(t):
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (text and bool(_INTEGER_TEXT.match(value)))
        elif pa.types.is_decimal(t) or pa.types.is_floating(t):
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (text and bool(_NUMBER_TEXT.match(value)))
        elif pa.types.is_string(t):
            ok = text
        if not ok:
            hint = ("escreva o valor entre aspas, ex.: '1'" if pa.types.is_string(t)
                    else "use um número, ex.: 1")
            raise SchemaError(f"stores[{store.id}].filter.{column}: valor {value!r} não combina com o tipo da coluna "
                              f"{column!r} ({table.c[column].type}) da tabela {table.name!r} do banco {role} "
                              f"{redact(url)}. Dica: {hint}.")


def reflect_table(conn: Connection, name: str, url: str, role: str) -> sa.Table:
    try:
        with naming_failures("leitura do esquema", role=role, url=url, table=name):
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
    source_types: dict = field(default_factory=dict)    # logical col -> the source's own type, where the
    #                                                     source is rounded to the target's (allow_rounding)
    fractions: dict = field(default_factory=dict)       # logical col -> (digits, how): source timestamps read
    #                                                     as the target holds them (core/preflight.py)
    findings: list = field(default_factory=list)        # the preflight's (core/probes.py)

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
    check_filter_values(o, scope.filters, store, origin_url, "de origem")
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
                 store_conn: Connection, store_url: str, *, strict: bool = True, scan: bool = True) -> TablePlan:
    """The table's plan, after every check that needs both databases (see the module docstring
    and ``core/probes.py``). ``strict``: a preflight error raises ``SchemaError`` and warnings are
    logged once per table and run; else both are left in ``plan.findings`` (``check --databases``).
    ``scan``: the preflight may read the source's data where it found a risk."""
    s = reflect_table(store_conn, table.target_name, store_url, f"da loja {store.id}")
    o, mapping, scope = origin_layout(table, store, origin_conn, origin_url, set(s.c.keys()))
    for col in mapping.store_columns:
        phys = mapping.physical[col]
        if phys not in s.c:
            raise SchemaError(
                f"Coluna {phys!r} não existe na tabela {s.name!r} do banco da loja {store.id} {redact(store_url)} "
                f"(coluna {col!r} da origem). Dica: mapeie-a em 'columns' ou acrescente-a a 'exclude'."
            )
    warn_unknown_types(o, mapping.columns, f"de origem {redact(origin_url)}")
    warn_unknown_types(s, [mapping.physical[c] for c in mapping.store_columns],
                       f"da loja {store.id} {redact(store_url)}")
    schema = pa.schema([(c, arrow_type(o.c[c].type)) for c in mapping.columns])
    schema, source_types = _compare_types(table, store, o, s, mapping, schema)
    plan = TablePlan(table, o, s, mapping, schema, dict(scope.filters), scope.store_filters, source_types)
    origin = Place(origin_conn, o, {c: c for c in mapping.columns}, plan.origin_filter, "de origem", origin_url)
    local = Place(store_conn, s, mapping.physical, plan.store_filter, f"da loja {store.id}", store_url)
    src, tgt = (origin, local) if table.direction == "receive" else (local, origin)
    plan.fractions, plan.findings = preflight(table, store.id, src, tgt, mapping.store_columns, mapping.store_key,
                                              scan)
    if strict:
        raise_findings(plan.findings, table, store)
    return plan


def raise_findings(findings: list[Finding], table: TableConfig, store: StoreConfig) -> None:
    """Errors as one ``SchemaError`` (nothing written yet); warnings once per table, rule and run."""
    errors = [f for f in findings if f.level == "erro"]
    if errors:
        arrow = "origem → loja" if table.direction == "receive" else "loja → origem"
        lines = "\n".join(f"  - coluna {f.column!r}: {f.what}"
                          + (f". Correção: {f.hint}" if i == 0 or f.hint != errors[i - 1].hint else "")
                          for i, f in enumerate(errors))
        raise SchemaError(f"Incompatibilidade na tabela {table.name!r} da loja {store.id} ({arrow}), nada foi "
                          f"gravado:\n{lines}",
                          hint="aplique a correção no banco indicado e rode de novo")
    for rule in dict.fromkeys(f.rule for f in findings):
        lines = [f.line() for f in findings if f.rule == rule]
        warn_once(("compatibilidade", rule, store.id, table.name), "\n".join(lines))


def _compare_types(table: TableConfig, store: StoreConfig, o: sa.Table, s: sa.Table, mapping: Mapping,
                   schema: pa.Schema) -> tuple[pa.Schema, dict]:
    """Pair each synced column's source and target types (``core/compat.py``): refuse what would
    change values silently; where rounding is allowed, compare in the target's type."""
    origin_sql = {c: o.c[c].type for c in mapping.store_columns}
    store_sql = {c: s.c[mapping.physical[c]].type for c in mapping.store_columns}
    origin_types = {c: schema.field(c).type for c in mapping.store_columns}
    store_types = {c: arrow_type(t) for c, t in store_sql.items()}
    receive = table.direction == "receive"
    src, tgt = (origin_types, store_types) if receive else (store_types, origin_types)
    src_sql, tgt_sql = (origin_sql, store_sql) if receive else (store_sql, origin_sql)
    pairs = [pair(c, src[c], tgt[c]) for c in mapping.store_columns]
    refused = [p for p in pairs if p.kind == "lossy" or (p.kind == "round" and not table.allow_rounding)]
    if refused:
        arrow = "origem → loja" if receive else "loja → origem"
        lines = [f"  - coluna {p.column!r}" + (f" (loja {mapping.physical[p.column]!r})"
                                              if mapping.physical[p.column] != p.column else "")
                 + f": {src_sql[p.column]} → {tgt_sql[p.column]}: {p.reason}"
                 + ("; os valores seriam arredondados em silêncio" if p.kind == "round" else "")
                 for p in refused]
        hint = ("altere a coluna do destino para o tipo da origem dos dados (ex.: "
                f"{src_sql[refused[0].column]}), exclua a coluna (exclude)")
        if all(p.kind == "round" for p in refused):
            hint += ", ou declare 'allow_rounding: true' na tabela para arredondar ao tipo do destino"
        raise SchemaError(f"Tipos incompatíveis na tabela {table.name!r} da loja {store.id} ({arrow}), nada foi "
                          "gravado:\n" + "\n".join(lines) + f"\nDica: {hint}.")
    rounded = [p for p in pairs if p.kind == "round"]
    if receive and rounded:   # compare in the store's type; a send compares in the origin's already
        types = {p.column: p.target for p in rounded}
        schema = pa.schema([pa.field(f.name, types.get(f.name, f.type)) for f in schema])
    return schema, {p.column: p.source for p in rounded}
