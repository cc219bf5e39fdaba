"""Change capture's SQL, per engine, as pure functions of names (nothing here touches a database).

The change table ``sinc_alteracoes`` lives on the side that produces a table's changes (the
origin for receive, each store for send). A trigger per synced table adds one entry per
inserted, updated or deleted row, inside the writing transaction:

    seq        a growing number (SQLite AUTOINCREMENT, MariaDB AUTO_INCREMENT, PostgreSQL a sequence)
    transacao  PostgreSQL only: the writing transaction's id, ``pg_current_xact_id()`` as bigint
    tabela     the captured table's name on that side
    chave_1…4  the row's key columns, as text (cast back to the key's types when read)
    escopo     the store filter columns' values as text (receive of a scoped table): OLD's for a
               delete, so a store only sees its own deletes; an update that moves a row (key or
               scope changed) records the OLD row and the NEW row
    operacao   'I', 'U' or 'D'
    criado_em  when the entry was written (for the maximum age)

Writes made by the sync itself are not recorded: PostgreSQL's trigger skips them when the
transaction says ``SET LOCAL sinc.aplicando = 'on'``, MariaDB's when the session has
``@sinc_aplicando = 1``; SQLite's triggers cannot see the connection, so the sync deletes, in
its own write transaction, the entries made after the start of that transaction (see
``capture/applying.py``). Every name is checked against ``IDENTIFIER`` and quoted.
"""
from __future__ import annotations

import re

from sinc_pipeline.core.errors import SchemaError

CHANGES = "sinc_alteracoes"
POSITIONS = "sinc_captura_posicoes"     # each consumer's position, kept on the producing side
HORIZON = "sinc_captura_horizonte"      # below it entries may have been pruned (or were never captured)
MAX_KEY = 4
KEY_COLUMNS = tuple(f"chave_{i}" for i in range(1, MAX_KEY + 1))
SCOPE_SEP = "|"
ENGINES = ("sqlite", "postgresql", "mysql")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def engine_family(name: str) -> str:
    """'sqlite', 'postgresql' or 'mysql' (MariaDB) from a SQLAlchemy dialect name."""
    return "mysql" if name in ("mysql", "mariadb") else name


def _q(engine: str, name: str) -> str:
    if not _IDENT.match(name):
        raise SchemaError("Nome inválido para a captura de alterações", value=name,
                          hint="use letras, dígitos e '_', começando por letra ou '_'")
    return f"`{name}`" if engine == "mysql" else f'"{name}"'


def trigger_name(table: str, suffix: str = "") -> str:
    return f"sinc_cap_{table}{suffix}"[:63]


def _text(engine: str, expr: str) -> str:
    return f"CAST({expr} AS CHAR)" if engine == "mysql" else f"CAST({expr} AS TEXT)"


def _scope_expr(engine: str, row: str, scope: list[str]) -> str:
    if not scope:
        return "NULL"
    parts = [_text(engine, f"{row}.{_q(engine, c)}") for c in scope]
    if len(parts) == 1:
        return parts[0]
    if engine == "mysql":
        return "CONCAT(" + f", '{SCOPE_SEP}', ".join(parts) + ")"
    return f" || '{SCOPE_SEP}' || ".join(parts)


def scope_text(filters: dict, scope: list[str]) -> str:
    """The ``escopo`` text the triggers record for a store whose filter is ``filters``."""
    return SCOPE_SEP.join(str(filters[c]) for c in scope)


def _check_key(table: str, key: list[str]) -> None:
    if not 1 <= len(key) <= MAX_KEY:
        raise SchemaError("A captura de alterações grava chaves de 1 a 4 colunas", where=f"tabela {table!r}",
                          value=list(key), hint="use o modo diff ou cursor nesta tabela")


def _values(engine: str, table: str, key: list[str], scope: list[str], row: str, op: str) -> tuple[str, str]:
    cols = ", ".join(["tabela", *KEY_COLUMNS[:len(key)], "escopo", "operacao"])
    vals = ", ".join([f"'{table}'", *(_text(engine, f"{row}.{_q(engine, k)}") for k in key),
                      _scope_expr(engine, row, scope), f"'{op}'"])
    return cols, vals


def _moved(engine: str, key: list[str], scope: list[str]) -> str:
    """SQL true when an UPDATE changed the row's key or scope (then OLD and NEW are both recorded)."""
    cols = [*key, *scope]
    if engine == "postgresql":
        old = ", ".join(f"OLD.{_q(engine, c)}" for c in cols)
        new = ", ".join(f"NEW.{_q(engine, c)}" for c in cols)
        return f"ROW({old}) IS DISTINCT FROM ROW({new})"
    same = " IS " if engine == "sqlite" else " <=> "
    return "NOT (" + " AND ".join(f"OLD.{_q(engine, c)}{same}NEW.{_q(engine, c)}" for c in cols) + ")"


def change_table_sql(engine: str, start: int = 1) -> list[str]:
    """CREATE statements (idempotent) for the change table, the positions and the horizon.

    ``start``: the first sequence number (SQLite, MariaDB): a reinstall starts above every
    number an earlier installation gave out, so no consumer's saved position hides new entries."""
    keys = {"sqlite": "TEXT", "postgresql": "TEXT", "mysql": "VARCHAR(500)"}[engine]
    cols = ", ".join(f"{k} {keys}" for k in KEY_COLUMNS)
    if engine == "sqlite":
        return [
            f"CREATE TABLE IF NOT EXISTS {CHANGES} (seq INTEGER PRIMARY KEY AUTOINCREMENT, tabela TEXT NOT NULL, "
            f"{cols}, escopo TEXT, operacao TEXT NOT NULL, criado_em TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            f"CREATE INDEX IF NOT EXISTS {CHANGES}_tabela ON {CHANGES} (tabela, seq)",
            f"INSERT INTO sqlite_sequence (name, seq) SELECT '{CHANGES}', {int(start) - 1} "
            f"WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{CHANGES}')",
            *_side_tables_sql(engine),
        ]
    if engine == "postgresql":
        return [
            f"CREATE TABLE IF NOT EXISTS {CHANGES} (seq BIGSERIAL PRIMARY KEY, "
            "transacao BIGINT NOT NULL DEFAULT (CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)), "
            f"tabela VARCHAR(128) NOT NULL, {cols}, escopo TEXT, operacao CHAR(1) NOT NULL, "
            "criado_em TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'))",
            f"CREATE INDEX IF NOT EXISTS {CHANGES}_transacao ON {CHANGES} (transacao)",
            f"CREATE INDEX IF NOT EXISTS {CHANGES}_tabela ON {CHANGES} (tabela, transacao)",
            *_side_tables_sql(engine),
        ]
    return [
        f"CREATE TABLE IF NOT EXISTS {CHANGES} (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        f"tabela VARCHAR(128) NOT NULL, {cols}, escopo VARCHAR(500), operacao CHAR(1) NOT NULL, "
        "criado_em DATETIME(6) NOT NULL DEFAULT UTC_TIMESTAMP(6), KEY sinc_alteracoes_tabela (tabela, seq)) "
        f"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin AUTO_INCREMENT={int(start)}",
        *_side_tables_sql(engine),
    ]


def _side_tables_sql(engine: str) -> list[str]:
    text = "VARCHAR(128)"
    tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" if engine == "mysql" else ""
    return [
        f"CREATE TABLE IF NOT EXISTS {POSITIONS} (loja {text} NOT NULL, tabela {text} NOT NULL, "
        f"direcao VARCHAR(16) NOT NULL, posicao BIGINT NOT NULL, atualizado_em VARCHAR(32), "
        f"PRIMARY KEY (loja, tabela, direcao)){tail}",
        f"CREATE TABLE IF NOT EXISTS {HORIZON} (id INTEGER NOT NULL PRIMARY KEY, horizonte BIGINT NOT NULL, "
        f"atualizado_em VARCHAR(32)){tail}",
    ]


def drop_change_table_sql(engine: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {t}" for t in (CHANGES, POSITIONS, HORIZON)]


def trigger_sql(engine: str, table: str, key: list[str], scope: list[str] | None = None) -> list[str]:
    """Statements that (re)create the capture of ``table`` (idempotent: they replace what exists).

    ``key``: the key columns as the table names them; ``scope``: the store filter columns to
    record (receive of a scoped table), in a fixed order (see ``scope_text``)."""
    scope = list(scope or [])
    _check_key(table, key)
    t = _q(engine, table)
    ins = "INSERT INTO " + CHANGES + " ({0}) VALUES ({1})"
    new_i, old_u, new_u, old_d = (_values(engine, table, key, scope, r, op)
                                  for r, op in (("NEW", "I"), ("OLD", "U"), ("NEW", "U"), ("OLD", "D")))
    moved = _moved(engine, key, scope)
    if engine == "sqlite":
        out = [f"DROP TRIGGER IF EXISTS {_q(engine, trigger_name(table, s))}" for s in ("_i", "_u", "_d")]
        out.append(f"CREATE TRIGGER {_q(engine, trigger_name(table, '_i'))} AFTER INSERT ON {t} BEGIN "
                   f"{ins.format(*new_i)}; END")
        out.append(f"CREATE TRIGGER {_q(engine, trigger_name(table, '_u'))} AFTER UPDATE ON {t} BEGIN "
                   f"{ins.format(*old_u)}; INSERT INTO {CHANGES} ({new_u[0]}) SELECT {new_u[1]} WHERE {moved}; END")
        out.append(f"CREATE TRIGGER {_q(engine, trigger_name(table, '_d'))} AFTER DELETE ON {t} BEGIN "
                   f"{ins.format(*old_d)}; END")
        return out
    if engine == "postgresql":
        fn = _q(engine, trigger_name(table, "_fn"))
        body = (f"BEGIN IF coalesce(current_setting('sinc.aplicando', true), '') = 'on' THEN RETURN NULL; END IF; "
                f"IF TG_OP = 'INSERT' THEN {ins.format(*new_i)}; "
                f"ELSIF TG_OP = 'UPDATE' THEN {ins.format(*old_u)}; "
                f"IF {moved} THEN {ins.format(*new_u)}; END IF; "
                f"ELSE {ins.format(*old_d)}; END IF; RETURN NULL; END")
        return [f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $sinc$ {body} $sinc$",
                f"DROP TRIGGER IF EXISTS {_q(engine, trigger_name(table))} ON {t}",
                f"CREATE TRIGGER {_q(engine, trigger_name(table))} AFTER INSERT OR UPDATE OR DELETE ON {t} "
                f"FOR EACH ROW EXECUTE FUNCTION {fn}()"]
    guard = "IF COALESCE(@sinc_aplicando, 0) <> 1 THEN "
    return [
        f"CREATE OR REPLACE TRIGGER {_q(engine, trigger_name(table, '_i'))} AFTER INSERT ON {t} FOR EACH ROW "
        f"BEGIN {guard}{ins.format(*new_i)}; END IF; END",
        f"CREATE OR REPLACE TRIGGER {_q(engine, trigger_name(table, '_u'))} AFTER UPDATE ON {t} FOR EACH ROW "
        f"BEGIN {guard}{ins.format(*old_u)}; IF {moved} THEN {ins.format(*new_u)}; END IF; END IF; END",
        f"CREATE OR REPLACE TRIGGER {_q(engine, trigger_name(table, '_d'))} AFTER DELETE ON {t} FOR EACH ROW "
        f"BEGIN {guard}{ins.format(*old_d)}; END IF; END",
    ]


def drop_trigger_sql(engine: str, table: str) -> list[str]:
    t = _q(engine, table)
    if engine == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {_q(engine, trigger_name(table))} ON {t}",
                f"DROP FUNCTION IF EXISTS {_q(engine, trigger_name(table, '_fn'))}()"]
    return [f"DROP TRIGGER IF EXISTS {_q(engine, trigger_name(table, s))}" for s in ("_i", "_u", "_d")]


def triggers_installed_sql(engine: str) -> str:
    """A query with bound ``:names``-free parameter ``:t``: how many capture triggers ``table`` has
    (complete: 3 on SQLite/MariaDB, 1 on PostgreSQL, see ``TRIGGERS_PER_TABLE``)."""
    if engine == "sqlite":
        return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t AND name LIKE 'sinc_cap_%'"
    if engine == "postgresql":
        return ("SELECT COUNT(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                "WHERE c.relname = :t AND g.tgname LIKE 'sinc\\_cap\\_%' AND NOT g.tgisinternal "
                "AND pg_table_is_visible(c.oid)")
    return ("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() "
            "AND EVENT_OBJECT_TABLE = :t AND TRIGGER_NAME LIKE 'sinc\\_cap\\_%'")


TRIGGERS_PER_TABLE = {"sqlite": 3, "postgresql": 1, "mysql": 3}


def horizon_sql(engine: str) -> str:
    """The position a consumer may start from right now, read in the sync's own snapshot:
    PostgreSQL the snapshot's horizon for this database, else the highest sequence number
    given out so far.

    PostgreSQL's ``pg_snapshot_xmin`` is the cluster's: a transaction left open in another
    database would hold every consumer back. The horizon is the lowest transaction still in
    progress in the snapshot (``pg_snapshot_xip``) that is not known to belong to another
    database (``pg_stat_activity``; one that has ended since, or a prepared one, counts), else
    the snapshot's xmax: every transaction of this database below it had ended."""
    if engine == "postgresql":
        return ("SELECT CAST(CAST(COALESCE((SELECT MIN(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x "
                "WHERE CAST(x AS xid) NOT IN (SELECT backend_xid FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                "AND datname IS NOT NULL AND datname <> current_database())), "
                "pg_snapshot_xmax(pg_current_snapshot())) AS TEXT) AS BIGINT)")
    if engine == "sqlite":
        return (f"SELECT MAX(COALESCE((SELECT MAX(seq) FROM {CHANGES}), 0), "
                f"COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{CHANGES}'), 0))")
    return f"SELECT COALESCE(MAX(seq), 0) FROM {CHANGES}"


def age_condition_sql(engine: str, seconds: int) -> str:
    """SQL condition: an entry older than ``seconds`` (criado_em is UTC on every engine)."""
    s = int(seconds)
    if engine == "sqlite":
        return f"criado_em < datetime('now', '-{s} seconds')"
    if engine == "postgresql":
        return f"criado_em < (now() AT TIME ZONE 'UTC') - interval '{s} seconds'"
    return f"criado_em < UTC_TIMESTAMP(6) - INTERVAL {s} SECOND"
