"""Tables from Arrow schemas: the column type each engine gets, and the CREATE TABLE for it.

Used where sinc_pipeline creates tables itself: a restore (``snapshots/restore.py``, types from the
snapshot's Parquet schema, declarations from its manifest) and a new store's database
(``provisioning/``, both from the origin). Canonical Arrow types (``core.types.arrow_type``) map
back to SQL types per engine:

    Arrow              SQLite      PostgreSQL         MariaDB / MySQL
    bool               BOOLEAN     BOOLEAN            BOOL
    int8..int64        INTEGER     SMALLINT..BIGINT   SMALLINT..BIGINT
    float/double       DOUBLE      DOUBLE PRECISION   DOUBLE
    decimal128(p, s)   NUMERIC(p, s) on every engine
    timestamp[us]      DATETIME    TIMESTAMP          DATETIME(6)
    date32             DATE        DATE               DATE
    time64[us]         TIME        TIME               TIME(6)
    string             TEXT        TEXT               LONGTEXT (key columns: VARCHAR(255))
    binary             BLOB        BYTEA              LONGBLOB (key columns: VARBINARY(255))

What the source declares beyond the Arrow type (``io/declared.py``) is kept: NOT NULL, VARCHAR(n) /
VARBINARY(n) lengths, integer widths (SMALLINT, INTEGER…; TINYINT and MEDIUMINT on MariaDB),
unique and secondary indexes, and the foreign keys between the tables created together (one whose
referenced columns are not the parent's key or a unique index there is left out). On MariaDB every
table is ``utf8mb4`` with the binary no-pad collation ``utf8mb4_nopad_bin``: text keys never fold
case, accents or trailing spaces, and a foreign key's integer columns take the width of the columns
they reference (InnoDB requires equal widths). SQLite key integers are always INTEGER so a single
integer key stays SQLite's fast rowid alias (other integer columns keep their declared width).

``create_tables`` creates a set of tables parents-first; ``loading`` wraps their load so rows may
arrive in any order: foreign keys are checked once the rows are in (a row pointing at a missing
parent fails the load, naming the table, the key and the count) and, on PostgreSQL, created then
(``ALTER TABLE … ADD FOREIGN KEY``, inside the transaction); MariaDB and SQLite declare them in
``CREATE TABLE`` and check them after the load (``foreign_key_checks`` / ``defer_foreign_keys``).
Types read back through ``core.types.arrow_type`` give the same canonical type again, so a table
created here round-trips value for value. ``create_table_sql`` is the readable twin of
``create_table``: the exact statement, for tests and for review.
"""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from sinc_pipeline.core import engines
from sinc_pipeline.core.errors import DataError, SchemaError
from sinc_pipeline.io.declared import Declared, ForeignKey

MARIADB_COLLATION = "utf8mb4_nopad_bin"

# Per-engine overrides of the generic type, keyed by (engine family, kind).
_MYSQL = {
    "timestamp": lambda t, key, n: mysql.DATETIME(fsp=6),
    "time": lambda t, key, n: mysql.TIME(fsp=6),
    "string": lambda t, key, n: sa.String(n or 255) if (key or n) else mysql.LONGTEXT(),
    "binary": lambda t, key, n: sa.VARBINARY(n or 255) if (key or n) else mysql.LONGBLOB(),
}
_SQLITE: dict = {}
_OVERRIDES: dict[str, dict[str, Callable[[pa.DataType, bool, int | None], sa.types.TypeEngine]]] = {
    "mysql": _MYSQL, "sqlite": _SQLITE, "postgresql": {},     # by engines.family
}
_INTS = {8: sa.SmallInteger, 16: sa.SmallInteger, 24: sa.Integer, 32: sa.Integer, 64: sa.BigInteger}
_MYSQL_INTS = {8: mysql.TINYINT, 24: mysql.MEDIUMINT}


def _kind(t: pa.DataType) -> str | None:
    checks = [("bool", pa.types.is_boolean), ("int", pa.types.is_integer), ("float", pa.types.is_floating),
              ("decimal", pa.types.is_decimal), ("timestamp", pa.types.is_timestamp), ("date", pa.types.is_date),
              ("time", pa.types.is_time), ("string", lambda x: pa.types.is_string(x) or pa.types.is_large_string(x)),
              ("binary", lambda x: pa.types.is_binary(x) or pa.types.is_large_binary(x))]
    return next((name for name, check in checks if check(t)), None)


def _generic(t: pa.DataType, kind: str, length: int | None, bits: int | None) -> sa.types.TypeEngine:
    if kind == "int":
        return _INTS.get(bits or t.bit_width, sa.BigInteger)()
    if kind == "decimal":
        return sa.Numeric(t.precision, t.scale, asdecimal=True)
    if kind == "timestamp":
        return sa.DateTime(timezone=t.tz is not None)
    if kind == "string" and length:
        return sa.String(length)
    if kind == "binary" and length:
        return sa.VARBINARY(length)
    return {"bool": sa.Boolean(), "float": sa.Double(), "date": sa.Date(), "time": sa.Time(),
            "string": sa.Text(), "binary": sa.LargeBinary()}[kind]


def engine_family(dialect: str | sa.engine.Dialect) -> str:
    name = dialect if isinstance(dialect, str) else dialect.name
    if not engines.is_supported(name):
        raise SchemaError(f"Banco {name!r} não suportado para criar tabelas. Dica: {engines.SUPPORTED_HINT}.")
    return name


def column_type(t: pa.DataType, dialect: str, key: bool = False, where: str = "coluna",
                length: int | None = None, bits: int | None = None) -> sa.types.TypeEngine:
    """The SQL type for a canonical Arrow type on ``dialect`` (``key``: part of the primary key;
    ``length``/``bits``: the source's declared VARCHAR length or integer width)."""
    kind = _kind(t)
    if kind is None:
        raise SchemaError(f"{where}: tipo Arrow {t} sem tipo SQL correspondente. Dica: use os tipos canônicos "
                          "de types.arrow_type (inteiro, decimal, texto, data/hora, booleano, binário).")
    family = engines.family(engine_family(dialect))
    if kind == "int" and family == "sqlite" and (key or not bits):
        return sa.Integer()
    if kind == "int" and family == "mysql" and bits in _MYSQL_INTS:
        return _MYSQL_INTS[bits]()
    override = _OVERRIDES[family].get(kind)
    return override(t, key, length) if override else _generic(t, kind, length, bits)


@dataclass
class TableSpec:
    """One table to create: its canonical schema, primary key and what its source declares."""
    name: str
    schema: pa.Schema
    key: list[str]
    declared: Declared | None = None

    def unique_sets(self) -> list[set[str]]:
        return self.declared.unique_sets(self.key) if self.declared else [set(self.key)]


def _usable_fks(spec: TableSpec, specs: dict[str, TableSpec]) -> list[ForeignKey]:
    """The declared foreign keys that can exist here: to a table created with it, on columns both
    tables have, referencing the parent's key or a unique index."""
    out = []
    for fk in spec.declared.foreign_keys if spec.declared else ():
        parent = specs.get(fk.ref_table)
        if parent is None or not set(fk.columns) <= set(spec.schema.names) \
                or not set(fk.ref_columns) <= set(parent.schema.names) or set(fk.ref_columns) not in parent.unique_sets():
            continue
        out.append(fk)
    return out


def table_def(name: str, schema: pa.Schema, key: Sequence[str], dialect: str,
              metadata: sa.MetaData | None = None, declared: Declared | None = None,
              specs: dict[str, TableSpec] | None = None) -> sa.Table:
    """A ``sa.Table`` for ``schema``: key columns NOT NULL and the primary key; ``declared`` adds
    NOT NULL, lengths, widths, indexes and the foreign keys to the tables of ``specs``."""
    missing = [k for k in key if k not in schema.names]
    if not key or missing:
        raise SchemaError(f"Tabela {name!r}: chave {list(key)} inválida (colunas ausentes {missing or list(key)}). "
                          f"Dica: colunas disponíveis: {schema.names}.")
    d = declared or Declared()
    cols = [sa.Column(f.name, column_type(f.type, dialect, f.name in key, f"tabela {name!r}, coluna {f.name!r}",
                                          d.lengths.get(f.name), d.int_bits.get(f.name)),
                      primary_key=f.name in key, nullable=f.name not in key and f.name not in d.not_null,
                      autoincrement=False)
            for f in schema]
    md = metadata if metadata is not None else sa.MetaData()
    extra: list = []
    for ix in d.indexes:
        if set(ix.columns) <= set(schema.names) and list(ix.columns) != list(key):
            extra.append(sa.Index(ix.name or f"ix_{name}_{'_'.join(ix.columns)}"[:60], *ix.columns, unique=ix.unique))
    spec = TableSpec(name, schema, list(key), declared)
    for fk in _usable_fks(spec, specs or {}):
        if fk.ref_table != name and fk.ref_table not in md.tables:   # a stand-in: the statement compiles alone
            sa.Table(fk.ref_table, md, *[sa.Column(c, sa.Integer) for c in fk.ref_columns])
        extra.append(sa.ForeignKeyConstraint(list(fk.columns), [f"{fk.ref_table}.{c}" for c in fk.ref_columns],
                                             name=fk.name, ondelete=fk.ondelete))
    options = {"mysql_charset": "utf8mb4", "mysql_collate": MARIADB_COLLATION} \
        if engines.family(engine_family(dialect)) == "mysql" else {}
    return sa.Table(name, md, *cols, *extra, **options)


def create_table_sql(name: str, schema: pa.Schema, key: Sequence[str], dialect: str,
                     declared: Declared | None = None, parents: Sequence[TableSpec] = ()) -> str:
    """The statements ``create_tables`` runs for one table on ``dialect``, as text (the foreign
    keys to ``parents`` inline)."""
    d = engines.dialect(engine_family(dialect))
    specs = {p.name: p for p in parents}
    table = table_def(name, schema, key, dialect, declared=declared, specs=specs)
    statements = [CreateTable(table)] + [CreateIndex(ix) for ix in sorted(table.indexes, key=lambda i: i.name)]
    return ";\n".join(str(s.compile(dialect=d)).strip() for s in statements)


def create_table(conn: Connection, name: str, schema: pa.Schema, key: Sequence[str]) -> sa.Table:
    """Create ``name`` on the connection's engine (inside the caller's transaction)."""
    table = table_def(name, schema, key, conn.dialect.name)
    table.create(conn)
    return table


def creation_order(specs: Sequence[TableSpec]) -> list[TableSpec]:
    """Parents before children (by the declared foreign keys among ``specs``), otherwise in the
    given order; a cycle is broken at its first table in that order."""
    by = {s.name: s for s in specs}
    parents = {s.name: {fk.ref_table for fk in _usable_fks(s, by)} - {s.name} for s in specs}
    done: list[TableSpec] = []
    left = list(specs)
    while left:
        ready = next((s for s in left if parents[s.name] <= {d.name for d in done}), left[0])
        done.append(ready)
        left.remove(ready)
    return done


@dataclass
class Created:
    """Tables made by ``create_tables`` (parents first) and their foreign keys still to check."""
    tables: list[sa.Table] = field(default_factory=list)
    foreign_keys: list[sa.ForeignKeyConstraint] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]


def create_tables(conn: Connection, specs: Sequence[TableSpec]) -> Created:
    """Create ``specs`` parents-first on the connection's engine (inside the caller's transaction;
    on PostgreSQL the foreign keys wait for ``loading`` to end). Call it inside ``loading``."""
    dialect = conn.dialect.name
    if engines.family(dialect) == "mysql":
        specs = _aligned_int_widths(specs)
    by = {s.name: s for s in specs}
    md = sa.MetaData()
    created = Created()
    for spec in creation_order(specs):
        created.tables.append(table_def(spec.name, spec.schema, spec.key, dialect, md, spec.declared, by))
    used: set[str] = set()
    for table in created.tables:
        for ix in table.indexes:                                 # index names are per schema on PG and SQLite
            if ix.name in used:
                ix.name = f"{table.name}_{ix.name}"[:60]
            used.add(ix.name)
        conn.execute(CreateTable(table, include_foreign_key_constraints=[] if dialect == "postgresql" else None))
        for ix in table.indexes:
            conn.execute(CreateIndex(ix))
        created.foreign_keys += list(table.foreign_key_constraints)
    return created


def _aligned_int_widths(specs: Sequence[TableSpec]) -> list[TableSpec]:
    """Each foreign key's integer columns as wide as the columns they reference."""
    by = {s.name: s for s in specs}
    out = []
    for spec in specs:
        d = spec.declared
        if d is None or not d.foreign_keys:
            out.append(spec)
            continue
        bits = dict(d.int_bits)
        for fk in _usable_fks(spec, by):
            parent = by[fk.ref_table].declared or Declared()
            for child_col, ref_col in zip(fk.columns, fk.ref_columns):
                if child_col in bits or ref_col in parent.int_bits:
                    bits[child_col] = parent.int_bits.get(ref_col, 64)
        out.append(TableSpec(spec.name, spec.schema, spec.key, dataclasses.replace(d, int_bits=bits)))
    return out


@contextlib.contextmanager
def loading(conn: Connection, created: Callable[[], Created | None]) -> Iterator[None]:
    """Rows may be loaded in any order inside; on leaving without error the foreign keys of the
    tables ``created()`` returns are checked and (PostgreSQL) created. See the module docstring."""
    family = engines.family(conn.dialect.name)
    if family == "mysql":
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
    elif family == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    try:
        yield
        done = created()
        for fk in done.foreign_keys if done else ():
            _check_orphans(conn, fk)
        if family == "postgresql":
            for fk in done.foreign_keys if done else ():
                conn.execute(AddConstraint(fk))
    finally:
        if family == "mysql":
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")


def _check_orphans(conn: Connection, fk: sa.ForeignKeyConstraint) -> None:
    """Refuse rows whose (non-null) foreign key has no parent row."""
    child, parent = fk.table, fk.referred_table
    c = sa.Table(child.name, sa.MetaData(), *[sa.Column(e.parent.name) for e in fk.elements]).alias("c")
    p = sa.Table(parent.name, sa.MetaData(), *[sa.Column(e.column.name) for e in fk.elements]).alias("p")
    pairs = [(c.c[e.parent.name], p.c[e.column.name]) for e in fk.elements]
    exists = sa.select(sa.literal(1)).select_from(p).where(*[b == a for a, b in pairs]).exists()
    stmt = sa.select(sa.func.count()).select_from(c).where(*[a.isnot(None) for a, _ in pairs], ~exists)
    n = conn.execute(stmt).scalar_one()
    if n:
        cols = [e.parent.name for e in fk.elements]
        raise DataError(f"{n} linha(s) apontam para linhas ausentes da tabela {parent.name!r}. Nada foi gravado (a "
                        "transação foi desfeita)", where=f"tabela {child.name!r}, chave estrangeira "
                        f"{fk.name or ''!r} {cols} -> {parent.name}{[e.column.name for e in fk.elements]}",
                        value=n, hint="a origem tem linhas sem o pai correspondente (ou um pai ficou de fora do "
                        "filtro da loja); corrija os dados, ou inclua a tabela pai na configuração")
