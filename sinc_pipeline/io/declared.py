"""What a table declares beyond its canonical Arrow types: NOT NULL, VARCHAR lengths, integer
widths, unique and secondary indexes, foreign keys.

``declared_of(conn, table)`` reflects it from a database (the table's own names);
``Declared.renamed`` maps it onto another table's names (criar_base_loja: origin -> store names,
dropping what is not copied); ``to_dict``/``from_dict`` carry it in a snapshot's manifest.
``io/ddl.py`` creates tables with it, so a table sinc_pipeline builds keeps what its source
declares. Pure data, engine-neutral: lengths are characters, widths bits (8, 16, 24, 32, 64).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Index:
    name: str | None
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class ForeignKey:
    name: str | None
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    ondelete: str | None = None


@dataclass(frozen=True)
class Declared:
    not_null: frozenset[str] = frozenset()
    lengths: Mapping[str, int] = field(default_factory=dict)      # VARCHAR(n) / VARBINARY(n)
    int_bits: Mapping[str, int] = field(default_factory=dict)     # SMALLINT 16, INTEGER 32…
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    # -- mapping onto another table --------------------------------------------------------
    def renamed(self, columns: Mapping[str, str], tables: Mapping[str, tuple[str, Mapping[str, str]]]) -> Declared:
        """This declaration under other names. ``columns``: own column -> new name (a column
        absent is not copied). ``tables``: referenced table -> (its new name, its column
        mapping). A foreign-key column pair whose both ends are not copied is dropped (a store's
        tables without the filter column); an index or foreign key left with a column that is
        not copied, or pointing at a table that is not copied, is dropped (a unique index that
        lost a column is no longer known to be unique)."""
        col = columns.get
        indexes = []
        for ix in self.indexes:
            cols = tuple(col(c) for c in ix.columns if col(c) is not None)
            if cols and (len(cols) == len(ix.columns) or not ix.unique):
                indexes.append(Index(ix.name, cols, ix.unique))
        fks = []
        for fk in self.foreign_keys:
            if fk.ref_table not in tables:
                continue
            ref_name, ref_cols = tables[fk.ref_table]
            pairs = [(col(a), ref_cols.get(b)) for a, b in zip(fk.columns, fk.ref_columns)
                     if not (col(a) is None and ref_cols.get(b) is None)]
            if not pairs or any(a is None or b is None for a, b in pairs):
                continue
            fks.append(ForeignKey(fk.name, tuple(a for a, _ in pairs), ref_name, tuple(b for _, b in pairs),
                                  fk.ondelete))
        return Declared(frozenset(col(c) for c in self.not_null if col(c)),
                        {col(c): n for c, n in self.lengths.items() if col(c)},
                        {col(c): n for c, n in self.int_bits.items() if col(c)}, tuple(indexes), tuple(fks))

    def unique_sets(self, key: Iterable[str]) -> list[set[str]]:
        """The column sets known unique: the key and each unique index."""
        return [set(key)] + [set(ix.columns) for ix in self.indexes if ix.unique]

    # -- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"not_null": sorted(self.not_null), "lengths": dict(self.lengths), "int_bits": dict(self.int_bits),
                "indexes": [{"name": i.name, "columns": list(i.columns), "unique": i.unique} for i in self.indexes],
                "foreign_keys": [{"name": f.name, "columns": list(f.columns), "ref_table": f.ref_table,
                                  "ref_columns": list(f.ref_columns), "ondelete": f.ondelete}
                                 for f in self.foreign_keys]}

    @classmethod
    def from_dict(cls, data, problems: list[str], ctx: str) -> Declared | None:
        """Parse a manifest's ``declared``; each malformed part is appended to ``problems``."""
        if data is None:
            return None

        def strs(v) -> bool:
            return isinstance(v, list) and bool(v) and all(isinstance(x, str) and x for x in v)

        def ints(v, allowed) -> bool:
            return isinstance(v, dict) and all(isinstance(k, str) and type(n) is int and n in allowed
                                               for k, n in v.items())

        ok = isinstance(data, dict)
        nn, lengths, bits = (data.get(k) if ok else None for k in ("not_null", "lengths", "int_bits"))
        ixs, fks = (data.get(k) if ok else None for k in ("indexes", "foreign_keys"))
        if not (isinstance(nn, list) and all(isinstance(x, str) for x in nn)):
            problems.append(f"campo '{ctx}not_null' = {nn!r} inválido (esperado lista de colunas)")
        if not ints(lengths, range(1, 1 << 31)):
            problems.append(f"campo '{ctx}lengths' = {lengths!r} inválido (esperado coluna -> tamanho positivo)")
        if not ints(bits, (8, 16, 24, 32, 64)):
            problems.append(f"campo '{ctx}int_bits' = {bits!r} inválido (esperado coluna -> 8, 16, 24, 32 ou 64)")
        indexes, foreign = [], []
        for i, ix in enumerate(ixs if isinstance(ixs, list) else [None] if ok else []):
            if not (isinstance(ix, dict) and strs(ix.get("columns")) and isinstance(ix.get("unique"), bool)
                    and isinstance(ix.get("name"), (str, type(None)))):
                problems.append(f"campo '{ctx}indexes[{i}]' = {ix!r} inválido")
                continue
            indexes.append(Index(ix["name"], tuple(ix["columns"]), ix["unique"]))
        for i, fk in enumerate(fks if isinstance(fks, list) else [None] if ok else []):
            if not (isinstance(fk, dict) and strs(fk.get("columns")) and strs(fk.get("ref_columns"))
                    and len(fk["columns"]) == len(fk["ref_columns"]) and isinstance(fk.get("ref_table"), str)
                    and isinstance(fk.get("name"), (str, type(None)))
                    and isinstance(fk.get("ondelete"), (str, type(None)))):
                problems.append(f"campo '{ctx}foreign_keys[{i}]' = {fk!r} inválido")
                continue
            foreign.append(ForeignKey(fk["name"], tuple(fk["columns"]), fk["ref_table"], tuple(fk["ref_columns"]),
                                      fk["ondelete"]))
        if not ok:
            problems.append(f"campo '{ctx.rstrip('.')}' = {data!r} inválido (esperado objeto)")
            return None
        return cls(frozenset(nn if isinstance(nn, list) else []), dict(lengths) if isinstance(lengths, dict) else {},
                   dict(bits) if isinstance(bits, dict) else {}, tuple(indexes), tuple(foreign))

    def problems_with(self, columns: Iterable[str], tables: Mapping[str, Iterable[str]]) -> list[str]:
        """What names a column or table that does not exist (``tables``: table -> its columns)."""
        have, out = set(columns), []
        named = [*self.not_null, *self.lengths, *self.int_bits, *(c for ix in self.indexes for c in ix.columns),
                 *(c for fk in self.foreign_keys for c in fk.columns)]
        out += [f"coluna {c!r} declarada não existe na tabela" for c in dict.fromkeys(named) if c not in have]
        for fk in self.foreign_keys:
            if fk.ref_table not in tables:
                out.append(f"chave estrangeira {fk.name or ''!r} aponta para a tabela {fk.ref_table!r}, ausente")
            elif not set(fk.ref_columns) <= set(tables[fk.ref_table]):
                out.append(f"chave estrangeira {fk.name or ''!r} aponta para colunas {list(fk.ref_columns)} "
                           f"ausentes da tabela {fk.ref_table!r}")
        return out


# ----------------------------------------------------------------------------------------------
# Reflection
# ----------------------------------------------------------------------------------------------
def int_bits(col_type: sa.types.TypeEngine) -> int | None:
    """The width of an integer type (an UNSIGNED one takes the next width), or None."""
    if not isinstance(col_type, sa.Integer):
        return None
    name = type(col_type).__name__.upper()
    bits = {"TINYINT": 8, "SMALLINTEGER": 16, "SMALLINT": 16, "MEDIUMINT": 24, "BIGINTEGER": 64, "BIGINT": 64}
    n = bits.get(name, 32)
    if getattr(col_type, "unsigned", False):
        n = {8: 16, 16: 24, 24: 32, 32: 64}.get(n, 64)
    return n


def _length(col_type: sa.types.TypeEngine) -> int | None:
    n = getattr(col_type, "length", None)
    if isinstance(n, int) and n > 0 and isinstance(col_type, (sa.String, sa.types._Binary)) \
            and not isinstance(col_type, sa.Text):
        return n
    return None


def declared_of(conn: Connection, table: sa.Table) -> Declared:
    """What ``table`` (reflected on ``conn``) declares, under its own names."""
    insp = sa.inspect(conn)
    pk = tuple(insp.get_pk_constraint(table.name).get("constrained_columns") or [])
    not_null = frozenset(c.name for c in table.c if not c.nullable)
    lengths = {c.name: n for c in table.c if (n := _length(c.type))}
    bits = {c.name: n for c in table.c if (n := int_bits(c.type)) and arrow_int(c.type)}
    seen: set[tuple[tuple[str, ...], bool]] = {(pk, True)}
    indexes = []
    found = [(u.get("name"), u.get("column_names") or [], True) for u in _safe(insp.get_unique_constraints, table.name)]
    found += [(ix.get("name"), ix.get("column_names") or [], bool(ix.get("unique")))
              for ix in _safe(insp.get_indexes, table.name) if not ix.get("duplicates_constraint")]
    for name, cols, unique in found:
        cols = tuple(cols)
        if not cols or any(c is None or c not in table.c for c in cols) or (cols, unique) in seen:
            continue
        if unique and (cols, False) in seen:
            indexes = [ix for ix in indexes if not (ix.columns == cols and not ix.unique)]
        elif not unique and (cols, True) in seen:
            continue
        seen.add((cols, unique))
        indexes.append(Index(name, cols, unique))
    fks = [ForeignKey(fk.get("name"), tuple(fk["constrained_columns"]), fk["referred_table"],
                      tuple(fk["referred_columns"]), (fk.get("options") or {}).get("ondelete"))
           for fk in _safe(insp.get_foreign_keys, table.name)
           if fk.get("referred_table") and fk.get("constrained_columns") and not fk.get("referred_schema")]
    return Declared(not_null, lengths, bits, tuple(indexes), tuple(fks))


def arrow_int(col_type: sa.types.TypeEngine) -> bool:
    """An integer column that is read as an integer (not MariaDB's TINYINT(1) boolean)."""
    from sinc_pipeline.core.types import arrow_type
    import pyarrow as pa

    return pa.types.is_integer(arrow_type(col_type))


def _safe(fn, name: str) -> list:
    try:
        return list(fn(name))
    except NotImplementedError:
        return []
