"""Alinhar Estoque at the database edge: read both stocks, compare, apply audited adjustments.

    send_pending(settings, store_id)            sales not yet at the origin go first (the send units)
    compute_divergences(settings, store_id)     both stocks read, compared in Arrow (stock.py)
    write_divergences(settings, ...)            the Parquet file analysts open
    apply_alignment(settings, store_id, div)    ONE transaction at the store: conditional UPDATEs,
                                                INSERTs, and one audit row per adjustment
    align_stock(settings, store_id, ...)        all of it, without Dagster (CLI, bench)

Each UPDATE is conditional on the quantity that was read (``WHERE key = ? AND quantidade = ?``):
a sale recorded at the store meanwhile makes it match nothing, and the row is reported and left
for the next run. Each INSERT (a product only at the origin) is conditional on the row still
being absent. Adjustment rows are only ever inserted; history is never deleted or rewritten.
The statements have pure twins (``*_sql``) that compile them for a dialect.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.settings import Settings, StockConfig, StoreConfig
from sinc_pipeline.core.db import connect, redact
from sinc_pipeline.core.owned import ID, TIMESTAMP, utcnow
from sinc_pipeline.core.errors import ConfigError, DataError
from sinc_pipeline.fiscal.quarantine import held_values
from sinc_pipeline.core.layout import check_filter_values, reflect_table, require_columns, store_scope
from sinc_pipeline.stock.divergence import divergences_frame, plan_adjustments, stock_divergences
from sinc_pipeline.sync.sides import Side, read_both
from sinc_pipeline.sync.direction import sync_direction
from sinc_pipeline.sync.unit import TableResult
from sinc_pipeline.core.types import arrow_type, warn_unknown_types
from sinc_pipeline.io.writer import compile_sql

REASON = "alinhamento com origem"
OPERATION = {"update": "atualizacao", "insert": "inclusao"}   # how the audit table names them


def _stock(settings: Settings) -> StockConfig:
    if settings.stock is None:
        raise ConfigError(["stock: valor None — seção ausente. Dica: acrescente 'stock:' à configuração "
                           "(table, key, quantity, scoped, adjustments_table); veja o README, Alinhar Estoque"])
    return settings.stock



# --------------------------------------------------------------------------- both sides

@dataclass
class StockPlan:
    """Both stock tables resolved: logical names (the origin's), the store's physical names."""
    origin: Side
    store: Side
    key: list[str]
    quantity: str
    store_filter: dict            # physical column -> value, present at the store only


def stock_plan(settings: Settings, store: StoreConfig, origin_conn: Connection, store_conn: Connection) -> StockPlan:
    cfg = _stock(settings)
    role = f"da loja {store.id}"
    o = reflect_table(origin_conn, cfg.table, settings.origin.url, "de origem")
    s = reflect_table(store_conn, cfg.target_name, store.url, role)
    scope = store_scope(cfg, store, s.c.keys())
    filter_cols = list(scope.filters)
    require_columns(o, cfg.key, settings.origin.url, "de origem", "stock.key")
    require_columns(o, [cfg.quantity], settings.origin.url, "de origem", "stock.quantity")
    require_columns(o, filter_cols, settings.origin.url, "de origem", f"filtro da loja {store.id}")
    check_filter_values(o, scope.filters, store, settings.origin.url, "de origem")
    logical = cfg.key + [cfg.quantity]
    physical = {c: cfg.store_column(c) for c in logical + filter_cols}
    require_columns(s, [physical[c] for c in logical], store.url, role, "stock.key/stock.quantity/stock.columns")
    at_store = list(scope.store_filters)   # a checkout database holds only its rows
    warn_unknown_types(o, logical, f"de origem {redact(settings.origin.url)}")
    schema = pa.schema([(c, arrow_type(o.c[c].type)) for c in logical])
    chunk = settings.chunk_size
    origin = Side(origin_conn, o, {c: c for c in logical + filter_cols}, dict(scope.filters),
                  schema, cfg.key, "origem", chunk)
    local = Side(store_conn, s, physical, {c: store.filter[c] for c in at_store}, schema, cfg.key, "loja", chunk)
    return StockPlan(origin, local, list(cfg.key), cfg.quantity, {physical[c]: store.filter[c] for c in at_store})


@dataclass
class Divergences:
    store: str
    table: pa.Table               # divergence.stock_divergences: key, quantidade_loja/origem, diferenca, situacao
    store_rows: int
    origin_rows: int
    read_s: float
    compare_s: float
    quantity_type: pa.DataType


def read_stocks(settings: Settings, store_id: str) -> tuple[pa.Table, pa.Table, float]:
    """(store stock, origin stock, seconds): key and quantity, the store's rows only, both read at once."""
    store = settings.store(store_id)
    t0 = time.perf_counter()
    with connect(settings.origin.url, "de origem", snapshot=True) as oc, \
            connect(store.url, f"da loja {store.id}", snapshot=True) as sc:
        plan = stock_plan(settings, store, oc, sc)
        origin, local = read_both(plan.origin, plan.store)
    return local, origin, time.perf_counter() - t0


def compute_divergences(settings: Settings, store_id: str) -> Divergences:
    local, origin, read_s = read_stocks(settings, store_id)
    cfg = _stock(settings)
    t0 = time.perf_counter()
    try:
        div = stock_divergences(local, origin, cfg.key, cfg.quantity)
    except (ValueError, DataError) as err:
        raise DataError(f"Estoque da loja {store_id} (tabela {cfg.target_name!r} / origem "
                        f"{cfg.table!r}): {err}. Dica: a chave {cfg.key} (stock.key) deve identificar um produto "
                        "só; corrija os dados ou a chave configurada.") from None
    return Divergences(store_id, div, local.num_rows, origin.num_rows, read_s, time.perf_counter() - t0,
                       origin.schema.field(cfg.quantity).type)


def divergence_path(settings: Settings, store_id: str, run_id: str) -> Path:
    return Path(settings.reports_root) / store_id / "divergencias_estoque" / f"{run_id}.parquet"


def write_divergences(settings: Settings, div: Divergences, run_id: str) -> Path:
    """The divergences as Parquet (exact decimals), written whole or not at all."""
    path = divergence_path(settings, div.store, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(div.table, tmp)
    tmp.replace(path)
    return path


def read_divergences(path: str | Path) -> pa.Table:
    return pq.read_table(path)


# --------------------------------------------------------------------------- statements and their twins

def conditional_update_stmt(table: sa.Table, key: list[str], quantity: str, filters: dict,
                            read_is_null: bool = False) -> sa.Update:
    """UPDATE the quantity of one key only where the store still holds the quantity that was read."""
    conds = [table.c[k] == sa.bindparam(f"_k{i}") for i, k in enumerate(key)]
    conds.append(table.c[quantity].is_(None) if read_is_null else table.c[quantity] == sa.bindparam("_lida"))
    conds += [table.c[c] == sa.literal(v) for c, v in filters.items()]
    return sa.update(table).where(*conds).values({quantity: sa.bindparam("_nova")})


def conditional_insert_stmt(table: sa.Table, key: list[str], quantity: str, filters: dict) -> sa.Insert:
    """INSERT one product only while the store still lacks it (a concurrent insert wins)."""
    cols = key + [quantity]
    def bound(i: int, c: str):
        return sa.cast(sa.bindparam(f"_c{i}", type_=table.c[c].type), table.c[c].type)

    values = [bound(i, c) for i, c in enumerate(cols)]
    values += [sa.cast(sa.literal(v, type_=table.c[c].type), table.c[c].type) for c, v in filters.items()]
    exists = sa.select(sa.literal_column("1")).select_from(table).where(
        *[table.c[k] == bound(i, k) for i, k in enumerate(key)],
        *[table.c[c] == sa.literal(v) for c, v in filters.items()])
    return sa.insert(table).from_select(cols + list(filters), sa.select(*values).where(~exists.exists()))


def conditional_update_sql(table: sa.Table, key: list[str], quantity: str, filters: dict, dialect: str) -> str:
    return compile_sql(conditional_update_stmt(table, key, quantity, filters), dialect)


def conditional_insert_sql(table: sa.Table, key: list[str], quantity: str, filters: dict, dialect: str) -> str:
    return compile_sql(conditional_insert_stmt(table, key, quantity, filters), dialect)


def adjustments_table(name: str, key_columns: list[sa.Column], quantity: pa.DataType) -> sa.Table:
    """The audit table at the store: one row per adjustment, only ever inserted."""
    p, s = (quantity.precision, quantity.scale) if pa.types.is_decimal(quantity) else (18, 3)
    return sa.Table(
        name, sa.MetaData(),
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *[sa.Column(c.name, c.type, nullable=False) for c in key_columns],
        sa.Column("operacao", sa.String(16), nullable=False),
        sa.Column("quantidade_anterior", sa.Numeric(p, s)),
        sa.Column("quantidade_nova", sa.Numeric(p, s), nullable=False),
        sa.Column("diferenca", sa.Numeric(min(p + 1, 38), s), nullable=False),
        sa.Column("motivo", sa.String(120), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("ajustado_em", TIMESTAMP, nullable=False),
    )


def ensure_adjustments_table(settings: Settings, store_id: str, quantity: pa.DataType) -> sa.Table:
    """Create the adjustments table at the store when absent, in its own committed transaction
    (MariaDB commits DDL implicitly; it must never run inside the data transaction)."""
    cfg, store = _stock(settings), settings.store(store_id)
    role = f"da loja {store.id}"
    with connect(store.url, role) as conn:
        stock_table = reflect_table(conn, cfg.target_name, store.url, role)
        keys = [stock_table.c[cfg.store_column(k)] for k in cfg.key]
        table = adjustments_table(cfg.adjustments_table, keys, quantity)
        if not sa.inspect(conn).has_table(table.name):
            table.metadata.create_all(conn)
            return table
        existing = reflect_table(conn, table.name, store.url, role)
        require_columns(existing, [c.name for c in table.c if c.name != "id"], store.url, role,
                        "tabela de ajustes (stock.adjustments_table)")
        return table


# --------------------------------------------------------------------------- applying

@dataclass
class Alignment:
    store: str
    updated: int = 0
    inserted: int = 0
    conflicts: list[dict] = field(default_factory=list)   # changed meanwhile: key, lida, atual, origem
    deferred: list[dict] = field(default_factory=list)    # products of sales held in fiscal quarantine
    audit_rows: int = 0
    duration_s: float = 0.0


def _conditional(conn: Connection, stmt, params: list[dict]) -> list[bool]:
    """Run ``stmt`` once per params; which ones changed a row. One executemany in a savepoint
    when every row still matches (the usual case); row by row only when some did not."""
    if not params:
        return []
    stmt = stmt.execution_options(preserve_rowcount=True)   # INSERT's count too, on every driver
    if conn.dialect.supports_sane_multi_rowcount:
        nested = conn.begin_nested()
        if conn.execute(stmt, params).rowcount == len(params):
            nested.commit()
            return [True] * len(params)
        nested.rollback()
    return [conn.execute(stmt, p).rowcount == 1 for p in params]


def apply_alignment(settings: Settings, store_id: str, divergences: pa.Table, *, run_id: str | None,
                    now: dt.datetime | None = None, quantity_type: pa.DataType | None = None) -> Alignment:
    """Bring the store to the origin's quantities: ONE transaction with the adjustments and their audit rows."""
    cfg, store = _stock(settings), settings.store(store_id)
    t0 = time.perf_counter()
    now = now or utcnow()
    out = Alignment(store_id)
    qtype = quantity_type or divergences.schema.field("quantidade_origem").type
    key = list(cfg.key)
    skip = held_values(settings, store_id, key) if settings.fiscal else set()
    plan = plan_adjustments(divergences_frame(divergences), key, run_id=run_id or "", now=now, reason=REASON)
    if skip and not plan.empty:
        deferred = plan.apply(lambda r: tuple(r[k] for k in key) in skip, axis=1).astype(bool)
        out.deferred = plan.loc[deferred, key + ["quantidade_anterior", "quantidade_nova"]].to_dict("records")
        plan = plan.loc[~deferred]
    if plan.empty:
        out.duration_s = time.perf_counter() - t0
        return out
    audit = ensure_adjustments_table(settings, store_id, qtype)
    role = f"da loja {store.id}"
    with connect(store.url, role, write=True) as conn:
        table = reflect_table(conn, cfg.target_name, store.url, role)
        phys = [cfg.store_column(k) for k in key]
        qcol = cfg.store_column(cfg.quantity)
        filters = {cfg.store_column(c): v for c, v in store_scope(cfg, store, table.c.keys()).store_filters.items()}
        records = plan.to_dict("records")
        applied = [False] * len(records)
        for read_null in (False, True):
            idx = [i for i, r in enumerate(records)
                   if r["operacao"] == "update" and (r["quantidade_anterior"] is None) == read_null]
            stmt = conditional_update_stmt(table, phys, qcol, filters, read_is_null=read_null)
            params = [{**{f"_k{j}": records[i][k] for j, k in enumerate(key)}, "_nova": records[i]["quantidade_nova"],
                       **({} if read_null else {"_lida": records[i]["quantidade_anterior"]})} for i in idx]
            for i, ok in zip(idx, _conditional(conn, stmt, params)):
                applied[i] = ok
        idx = [i for i, r in enumerate(records) if r["operacao"] == "insert"]
        stmt = conditional_insert_stmt(table, phys, qcol, filters)
        params = [{**{f"_c{j}": records[i][k] for j, k in enumerate(key)}, f"_c{len(key)}": records[i]["quantidade_nova"]}
                  for i in idx]
        for i, ok in zip(idx, _conditional(conn, stmt, params)):
            applied[i] = ok
        rows = [{**{p: r[k] for p, k in zip(audit.c.keys()[1:], key)}, "operacao": OPERATION[r["operacao"]],
                 "quantidade_anterior": r["quantidade_anterior"], "quantidade_nova": r["quantidade_nova"],
                 "diferenca": r["diferenca"], "motivo": r["motivo"], "run_id": run_id, "ajustado_em": now}
                for r, ok in zip(records, applied) if ok]
        if rows:
            conn.execute(sa.insert(audit), rows)
        out.audit_rows = len(rows)
        out.updated = sum(ok for r, ok in zip(records, applied) if r["operacao"] == "update")
        out.inserted = sum(ok for r, ok in zip(records, applied) if r["operacao"] == "insert")
        missed = [r for r, ok in zip(records, applied) if not ok]
        out.conflicts = _current(conn, table, phys, qcol, filters, key, missed)
    out.duration_s = time.perf_counter() - t0
    return out


def _current(conn: Connection, table: sa.Table, phys: list[str], qcol: str, filters: dict, key: list[str],
             missed: list[dict]) -> list[dict]:
    """What the store holds now for the rows that changed meanwhile (few: read one by one)."""
    out = []
    for r in missed:
        stmt = sa.select(table.c[qcol]).where(*[table.c[p] == r[k] for p, k in zip(phys, key)],
                                              *[table.c[c] == v for c, v in filters.items()])
        now = conn.execute(stmt).scalar()
        out.append({**{k: r[k] for k in key}, "quantidade_lida": r["quantidade_anterior"], "quantidade_atual": now,
                    "quantidade_origem": r["quantidade_nova"]})
    return out


# --------------------------------------------------------------------------- the whole run

def send_pending(settings: Settings, store_id: str, run_id: str | None = None) -> list[TableResult]:
    """Every send unit of the store, with the fiscal gate: local sales reach the origin first."""
    return sync_direction(settings, store_id, "send", run_id=run_id)[0]


@dataclass
class AlignRun:
    divergences: Divergences
    path: Path
    sent: list[TableResult]
    alignment: Alignment | None          # None when simulating
    timings: dict[str, float]


def align_stock(settings: Settings, store_id: str, *, run_id: str, simulate: bool = False,
                send: bool = True) -> AlignRun:
    """Alinhar Estoque end to end, without Dagster: send, compare, write the report, apply."""
    timings = {}
    t0 = time.perf_counter()
    sent = send_pending(settings, store_id, run_id) if send else []
    timings["enviar_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    div = compute_divergences(settings, store_id)
    path = write_divergences(settings, div, run_id)
    timings["comparar_s"] = time.perf_counter() - t1
    alignment = None
    if not simulate:
        alignment = apply_alignment(settings, store_id, div.table, run_id=run_id, quantity_type=div.quantity_type)
        timings["aplicar_s"] = alignment.duration_s
    timings["total_s"] = time.perf_counter() - t0
    return AlignRun(div, path, sent, alignment, timings)
