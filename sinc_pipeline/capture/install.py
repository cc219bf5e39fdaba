"""Installing and removing change capture, idempotently, where each journal table's changes are
made: the origin for a receive table, every store for a send table, both for a two-way table
(``direction: both``: each side's edits are read from its own journal).

``capture_sites(settings)`` says where (pure); ``install_capture`` / ``remove_capture`` do it.
Installing twice changes nothing (the change table is kept, the triggers are replaced by the
same ones); a change table created anew gets a horizon at its start, so every consumer that
had a position from an earlier installation compares its table in full once (changes made
while capture was off were not recorded) and then goes on in journal mode.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.journal import start_position
from sinc_pipeline.core.db import connect, redact
from sinc_pipeline.core.errors import SchemaError, naming_failures
from sinc_pipeline.settings import Settings, StoreConfig, TableConfig


@dataclass
class Site:
    """One database that produces journal tables' changes, and what to capture there."""
    url: str
    role: str
    consumers: list[str]                       # store ids whose positions prune its entries
    direction: str                             # the one-way direction it produces ("receive" | "send")
    tables: list[TableConfig] = field(default_factory=list)
    store: StoreConfig | None = None           # a store's database (send); None: the origin

    @property
    def side(self) -> str:
        return ORIGIN if self.store is None else STORE


ORIGIN, STORE = "origin", "store"


def producing_side(t: TableConfig) -> str:
    """Where a one-way table's changes are made (a two-way table's are made on both sides)."""
    return ORIGIN if t.direction == "receive" else STORE


def journal_tables(settings: Settings, direction: str | None = None) -> list[TableConfig]:
    return [t for t in settings.tables if t.capture == "journal" and (direction is None or t.direction == direction)]


def produced_at(settings: Settings, side: str) -> list[TableConfig]:
    """The journal tables whose changes are captured on ``side`` (origin: receive and two-way;
    a store: send and two-way)."""
    one_way = "receive" if side == ORIGIN else "send"
    return [t for t in journal_tables(settings) if t.direction in (one_way, "both")]


def scope_columns(settings: Settings, t: TableConfig, side: str | None = None) -> list[str]:
    """The store filter columns the origin's entries of a scoped table record (sorted); none on
    a store's side or when unscoped."""
    if (side or producing_side(t)) != ORIGIN or not t.scoped or not settings.stores:
        return []
    return sorted(settings.stores[0].filter)


def capture_sites(settings: Settings) -> list[Site]:
    sites = []
    at_origin = produced_at(settings, ORIGIN)
    if at_origin:
        sites.append(Site(settings.origin.url, "de origem", [s.id for s in settings.stores], "receive", at_origin))
    at_store = produced_at(settings, STORE)
    if at_store:
        sites += [Site(s.url, f"da loja {s.id}", [s.id], "send", at_store, s) for s in settings.stores]
    return sites


def recorded_key(t: TableConfig, columns, side: str | None = None) -> tuple[list[str], list[str]]:
    """(logical, physical) key columns the entries of ``t`` record on ``side`` (default: its
    producing side), whose table has ``columns``: the origin's key at the origin; the store's
    (renamed, without the filter columns the store lacks) at a store."""
    if (side or producing_side(t)) == ORIGIN:
        return list(t.key), list(t.key)
    have = set(columns)
    logical = [k for k in t.key if t.store_column(k) in have]
    return logical, [t.store_column(k) for k in logical]


@dataclass
class InstallResult:
    banco: str
    tabela: str
    acao: str


def _engine(conn) -> str:
    return q.engine_family(conn.dialect.name)


def _start_seq() -> int:
    """Microseconds since the epoch: above every number an earlier installation gave out."""
    return int(time.time() * 1_000_000)


def _table_name(site: Site, t: TableConfig) -> str:
    return t.target_name if site.side == STORE else t.name


def install_site(site: Site, settings: Settings) -> list[InstallResult]:
    out = []
    with naming_failures("instalação da captura", role=site.role, url=site.url), \
            connect(site.url, site.role, write=True) as conn:
        engine = _engine(conn)
        fresh, first = not sa.inspect(conn).has_table(q.CHANGES), _start_seq()
        for stmt in q.change_table_sql(engine, first):
            conn.exec_driver_sql(stmt)
        if fresh:   # nothing captured yet: consumers start below the first number (PostgreSQL: the xmin)
            start = start_position(conn, engine).seq if engine == "postgresql" else first - 1
            conn.execute(sa.text(f"DELETE FROM {q.HORIZON} WHERE id = 1"))
            conn.execute(sa.text(f"INSERT INTO {q.HORIZON} (id, horizonte, atualizado_em) VALUES (1, :h, :t)"),
                         {"h": start, "t": _now()})
            out.append(InstallResult(redact(site.url), q.CHANGES, "criada"))
        insp = sa.inspect(conn)
        for t in site.tables:
            name = _table_name(site, t)
            if not insp.has_table(name):
                raise SchemaError("Tabela não existe para instalar a captura de alterações",
                                  where=f"banco {site.role} {redact(site.url)}, tabela {name!r}",
                                  hint="crie a tabela (criar_base_loja) ou corrija a configuração")
            columns = [c["name"] for c in insp.get_columns(name)]
            _, key = recorded_key(t, columns, site.side)
            scope = scope_columns(settings, t, site.side)
            missing = [c for c in key + scope if c not in columns]
            if missing:
                raise SchemaError("Coluna da chave ou do filtro da loja não existe para a captura",
                                  where=f"banco {site.role} {redact(site.url)}, tabela {name!r}", value=missing,
                                  hint="corrija 'key', 'columns' ou o filtro da loja na configuração")
            for stmt in q.trigger_sql(engine, name, key, scope):
                conn.exec_driver_sql(stmt)
            out.append(InstallResult(redact(site.url), name, "gatilhos instalados"))
    return out


def remove_site(site: Site) -> list[InstallResult]:
    out = []
    with naming_failures("remoção da captura", role=site.role, url=site.url), \
            connect(site.url, site.role, write=True) as conn:
        engine = _engine(conn)
        insp = sa.inspect(conn)
        for t in site.tables:
            name = _table_name(site, t)
            if insp.has_table(name):
                for stmt in q.drop_trigger_sql(engine, name):
                    conn.exec_driver_sql(stmt)
                out.append(InstallResult(redact(site.url), name, "gatilhos removidos"))
        left = _other_triggers(conn, engine)
        if not left:
            for stmt in q.drop_change_table_sql(engine):
                conn.exec_driver_sql(stmt)
            out.append(InstallResult(redact(site.url), q.CHANGES, "removida"))
    return out


def _other_triggers(conn, engine: str) -> int:
    """Capture triggers still on the database (of tables no longer in the config)."""
    if engine == "sqlite":
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'sinc_cap_%'"
    elif engine == "postgresql":
        sql = ("SELECT COUNT(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid WHERE g.tgname LIKE "
               "'sinc\\_cap\\_%' AND NOT g.tgisinternal AND pg_table_is_visible(c.oid)")
    else:
        sql = ("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() "
               "AND TRIGGER_NAME LIKE 'sinc\\_cap\\_%'")
    return int(conn.execute(sa.text(sql)).scalar() or 0)


def install_capture(settings: Settings, remove: bool = False) -> list[InstallResult]:
    """Install (or, with ``remove``, remove) capture on every site of the config's journal tables."""
    sites = capture_sites(settings)
    if not sites:
        raise SchemaError("Nenhuma tabela com 'capture: journal' na configuração",
                          hint="acrescente 'capture: journal' às tabelas que devem ser sincronizadas pelo journal")
    out = []
    for site in sites:
        out += remove_site(site) if remove else install_site(site, settings)
    return out


def _now() -> str:
    import datetime as dt
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")
