"""Criar Base da Loja: a new store's database, created from the origin.

``create_store_database(settings, store_id)`` builds every configured table in the store's
(empty) database the way the sync expects to find it — the store's table and column names,
excluded columns left out, and for scoped tables only the store's rows, without the filter
columns (a store's database holds only its own rows) unless an existing empty table has them.
Types come from the origin (``core.types.arrow_type`` -> ``io/ddl.py``), the store key is the primary
key, and what the origin declares is kept (``io/declared.py``: NOT NULL, VARCHAR lengths, integer
widths, unique and secondary indexes, the foreign keys between configured tables under the store's
names; on MariaDB text in ``utf8mb4_nopad_bin``). Tables are created and filled parents-first.
Everything is read from the origin in one consistent read and loaded in chunks with the engine's
bulk path, in one write transaction on the store; the foreign keys are checked after the load.

Then the sync state is set so that the next ``forcar_atualizacao`` (send, then receive) finds
nothing to do: for each table with a ``cursor``, the highest cursor value copied is written to
``sinc_estado`` — receive tables in the store's database (same transaction as the rows), send
tables in the origin's database (direction ``send``, afterwards; if that write fails, the next
send just compares everything once and still finds nothing to change).

A store database where any configured table already holds rows is refused, naming the table.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.io.bulk import bulk_insert
from sinc_pipeline.settings import Settings, StoreConfig, TableConfig
from sinc_pipeline.core.db import connect, redact
from sinc_pipeline.io.declared import Declared, declared_of
from sinc_pipeline.io.ddl import Created, TableSpec, create_tables, creation_order, loading
from sinc_pipeline.core.progress import Progress, count_rows
from sinc_pipeline.io.chunks import read_chunks
from sinc_pipeline.core.errors import DataError, SchemaError, driver_message
from sinc_pipeline.io.fastread import open_fast_reader
from sinc_pipeline.core.layout import origin_layout
from sinc_pipeline.sync.state import ensure_state_table, set_cursor
from sinc_pipeline.core.types import arrow_type, warn_unknown_types


@dataclass
class TableCopy:
    """How one configured table goes from the origin to the new store database."""
    config: TableConfig
    origin: sa.Table
    schema: pa.Schema               # logical (origin) names of the copied columns, origin types
    physical: dict[str, str]        # logical -> store column name
    key: list[str]                  # store key, store column names
    filters: dict                   # origin filter (scoped tables): logical column -> value
    exists: bool                    # the (empty) store table exists already
    declared: Declared              # what the origin table declares, origin names

    @property
    def store_schema(self) -> pa.Schema:
        return pa.schema([(self.physical[f.name], f.type) for f in self.schema])

    def spec(self, plans: list[TableCopy]) -> TableSpec:
        """The store table to create: store names, and the origin's declarations under them."""
        tables = {p.config.name: (p.config.target_name, p.physical) for p in plans}
        copied = {c: self.physical[c] for c in self.schema.names}
        return TableSpec(self.config.target_name, self.store_schema, self.key, self.declared.renamed(copied, tables))


@dataclass
class BootstrapResult:
    store: str
    target: str                                          # the store URL, password hidden
    tables: dict[str, int] = field(default_factory=dict)  # store table -> rows copied
    created: list[str] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)  # "tabela (direção)" -> cursor written
    duration_s: float = 0.0


def plan_copy(cfg: TableConfig, store: StoreConfig, origin: Connection, origin_url: str,
              existing: sa.Table | None) -> TableCopy:
    """The store layout of ``cfg`` (the same rules as ``core.layout.resolve_plan``)."""
    have = set(existing.c.keys()) if existing is not None else set()
    o, m, scope = origin_layout(cfg, store, origin, origin_url, have)
    if existing is not None:
        missing = [m.physical[c] for c in m.store_columns if m.physical[c] not in have]
        if missing:
            raise SchemaError(f"A tabela {existing.name!r} (vazia) do banco da loja {store.id} {redact(store.url)} não "
                              f"tem a(s) coluna(s) {missing}. Dica: apague a tabela para que criar_base_loja a crie, "
                              "ou acrescente as colunas.")
    warn_unknown_types(o, m.store_columns, f"de origem {redact(origin_url)}")
    schema = pa.schema([(c, arrow_type(o.c[c].type)) for c in m.store_columns])
    return TableCopy(cfg, o, schema, m.physical, [m.physical[k] for k in m.store_key],
                     dict(scope.filters), existing is not None, declared_of(origin, o))


def _refuse_if_occupied(conn: Connection, settings: Settings, store: StoreConfig) -> dict[str, sa.Table]:
    """Existing (empty) store tables by name; a table with rows is refused."""
    insp = sa.inspect(conn)
    existing = {}
    for cfg in settings.tables:
        name = cfg.target_name
        if not insp.has_table(name):
            continue
        table = sa.Table(name, sa.MetaData(), autoload_with=conn)
        n = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if n:
            raise DataError(f"O banco da loja {store.id} {redact(store.url)} já tem dados: a tabela {name!r} tem {n} "
                            "linha(s). Nada foi gravado. Dica: criar_base_loja é para uma loja sem banco local; para "
                            "uma loja que já tem dados use forcar_atualizacao, ou restaurar_base para reconstruí-la.")
        existing[name] = table
    return existing


def _copy(src: Connection, tgt: Connection, plan: TableCopy, chunk_rows: int, fast,
          progress: Progress | None = None) -> tuple[int, object]:
    """Copy one table in chunks; returns (rows, highest cursor value)."""
    cfg, rows, top = plan.config, 0, None
    total = count_rows(src, plan.origin, plan.filters) if progress is not None else 0
    pieces = read_chunks(src, plan.origin, plan.schema, cfg.key, chunk_rows, plan.filters, fast)
    for _, piece in pieces:
        try:
            rows += bulk_insert(tgt, cfg.target_name, piece.to_batches(max_chunksize=chunk_rows), plan.physical)
        except Exception as err:  # noqa: BLE001 - any driver's error, named for the user
            raise DataError("Gravação no banco da loja falhou. Nada foi gravado nessa tabela (a transação foi "
                            "desfeita)", where=f"tabela {cfg.target_name!r}", cause=driver_message(err),
                            hint="confira se a tabela já existente aceita os valores da origem, ou apague-a "
                            "para que criar_base_loja a crie") from None
        if progress is not None:
            progress(cfg.target_name, rows, max(total, rows))
        if cfg.cursor and piece.num_rows:
            m = pc.max(piece.column(cfg.cursor)).as_py()
            if m is not None and (top is None or m > top):
                top = m
    return rows, top


def create_store_database(settings: Settings, store_id: str, run_id: str | None = None,
                          progress: Progress | None = None) -> BootstrapResult:
    """Create the store's database from the origin; see the module docstring. ``progress(table,
    done, total)`` after every chunk copied."""
    t0 = time.perf_counter()
    store = settings.store(store_id)
    result = BootstrapResult(store.id, redact(store.url))
    tops: dict[str, object] = {}
    role = f"da loja {store.id}"
    fast = open_fast_reader(settings.origin.url)
    try:
        with connect(settings.origin.url, "de origem", snapshot=True) as src, \
                connect(store.url, role, write=True) as tgt:
            existing = _refuse_if_occupied(tgt, settings, store)
            plans = [plan_copy(cfg, store, src, settings.origin.url, existing.get(cfg.target_name))
                     for cfg in settings.tables]
            specs = {p.config.target_name: p.spec(plans) for p in plans}
            order = [next(p for p in plans if p.config.target_name == s.name)
                     for s in creation_order(list(specs.values()))]          # parents first
            created: list[Created] = []
            with loading(tgt, lambda: created[0] if created else None):
                # DDL first (MariaDB commits it implicitly)
                created.append(create_tables(tgt, [specs[p.config.target_name] for p in order if not p.exists]))
                result.created += created[0].names
                for plan in order:
                    rows, top = _copy(src, tgt, plan, settings.chunk_size, fast, progress)
                    result.tables[plan.config.target_name] = rows
                    tops[plan.config.name] = top
            ensure_state_table(tgt)
            for plan in plans:
                cfg = plan.config
                if cfg.cursor and cfg.direction == "receive":
                    set_cursor(tgt, store.id, cfg.name, "receive", tops[cfg.name], run_id)
                    result.cursors[f"{cfg.name} (receive)"] = str(tops[cfg.name])
    finally:
        if fast is not None:
            fast.close()
    sends = [p.config for p in plans if p.config.cursor and p.config.direction == "send"]
    if sends:
        with connect(settings.origin.url, "de origem", write=True) as conn:
            ensure_state_table(conn)
            for cfg in sends:
                set_cursor(conn, store.id, cfg.name, "send", tops[cfg.name], run_id)
                result.cursors[f"{cfg.name} (send)"] = str(tops[cfg.name])
    result.duration_s = round(time.perf_counter() - t0, 3)
    return result
