"""Before anything is written: can the target hold what the source holds? (pure rules)

``core/probes.py`` reads each synced column's *facts* from its database's catalogue (charset,
collation and what it treats as equal, fractional-second digits); the rules here compare a
source column's facts with its target's, over Arrow data where the data decides:

* **charset**: a target column whose character set holds fewer characters than the source's
  (MariaDB ``utf8mb3``/``latin1`` vs an ``utf8mb4``, PostgreSQL or SQLite source) cannot store
  every value: an error with the fix (``ALTER TABLE … CONVERT TO CHARACTER SET utf8mb4``),
  unless the table says ``on_unrepresentable: report`` (then a warning; the rows the target
  refuses are handled by the apply);
* **fraction**: a target timestamp/time column with fewer fractional-second digits than the
  source's: the source is read *as the target holds it* (``fit_fraction``: truncated as
  MariaDB does, or rounded as PostgreSQL and MariaDB's TIME_ROUND_FRACTIONAL do), so a second
  run writes nothing and the checksum check agrees; a warning says how much is lost;
* **collation** (text key columns): a target collation that folds case, accents or trailing
  spaces where the source distinguishes them makes two source keys one target key (and an
  UPDATE's WHERE match two rows): the source's keys are searched for such pairs (``candidate
  collisions``, confirmed by the target database itself); one found is an error, none a warning.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

CASE, ACCENTS, TRAILING = "maiúsculas/minúsculas", "acentos", "espaços no fim"
FOLDS = (CASE, ACCENTS, TRAILING)


@dataclass(frozen=True)
class ColumnFacts:
    """What a database says about one column (``core/probes.py``)."""
    kind: str = "other"                  # text | timestamp | time | other
    charset: str | None = None           # MariaDB column charset, PostgreSQL database encoding; None: any text
    collation: str | None = None
    folds: frozenset = frozenset()       # of FOLDS: what the collation treats as equal
    fraction: int | None = None          # fractional-second digits held (timestamp, time)
    fits: str = "truncate"               # how a finer value is stored: truncate | round | round_pg
    declared: str = ""                   # the column's declaration, for a MODIFY in a fix


@dataclass(frozen=True)
class Finding:
    level: Literal["erro", "aviso"]
    rule: str                            # charset | precisao | colacao
    store: str
    table: str                           # the config's table name
    column: str                          # the target's column name
    what: str
    hint: str = ""

    def line(self) -> str:
        tag = "ERRO" if self.level == "erro" else "AVISO"
        text = f"[{tag}] loja {self.store}, tabela {self.table!r}, coluna {self.column!r}: {self.what}"
        return text + (f". Dica: {self.hint}" if self.hint else "")


# ---------------------------------------------------------------- charsets
# repertoire levels: 1 ASCII, 2 Latin-1 (MariaDB's latin1 is cp1252), 3 Unicode's basic plane, 4 all of Unicode
_MARIADB = {"ascii": 1, "latin1": 2, "utf8mb3": 3, "utf8": 3, "ucs2": 3, "utf8mb4": 4, "utf16": 4, "utf16le": 4,
            "utf32": 4, "binary": 4}
_POSTGRES = {"utf8": 4, "sql_ascii": 4, "latin1": 2, "win1252": 2}
_OUTSIDE = {   # RE2 classes of the characters a repertoire level lacks
    1: r"[^\x{00}-\x{7F}]",
    2: r"[^\x{00}-\x{7F}\x{A0}-\x{FF}€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ\x{81}\x{8D}\x{8F}\x{90}\x{9D}]",
    3: r"[\x{10000}-\x{10FFFF}]",
}
_LACKS = {1: "caracteres fora do ASCII (acentos, emoji)", 2: "caracteres fora do latin1 (emoji, vários símbolos)",
          3: "caracteres de 4 bytes (emoji e outros fora do plano básico do Unicode)"}


def repertoire(engine: str, charset: str | None) -> int | None:
    """How much of Unicode a column's charset holds (4: all; None: not known here)."""
    if charset is None:
        return 4
    table = _POSTGRES if engine == "postgresql" else _MARIADB
    return table.get(charset.lower())


def charset_risk(engine_s: str, src: ColumnFacts, engine_t: str, tgt: ColumnFacts) -> int | None:
    """The target's repertoire level when the source may hold characters the target cannot, else None."""
    if src.kind != "text" or tgt.kind != "text":
        return None
    have, need = repertoire(engine_t, tgt.charset), repertoire(engine_s, src.charset)
    if have is None or need is None or have >= need:
        return None
    return have


def unrepresentable(values: pa.Array | pa.ChunkedArray, level: int) -> pa.Array:
    """Mask of the values holding a character a repertoire of ``level`` lacks."""
    return pc.fill_null(pc.match_substring_regex(values, pattern=_OUTSIDE[level]), False)


def lacks(level: int) -> str:
    return _LACKS[level]


def utf8mb4_collation(collation: str | None) -> str:
    """The utf8mb4 twin of a MariaDB collation (utf8mb3_general_ci -> utf8mb4_general_ci), else the
    binary no-pad one."""
    for prefix in ("utf8mb3_", "utf8_", "ucs2_"):
        if collation and collation.startswith(prefix):
            return "utf8mb4_" + collation[len(prefix):]
    return "utf8mb4_nopad_bin"


# ---------------------------------------------------------------- fractional seconds
UNITS = {0: "segundos", 1: "décimos de segundo", 2: "centésimos de segundo", 3: "milissegundos",
         4: "décimos de milissegundo", 5: "centésimos de milissegundo", 6: "microssegundos"}
_PG_EPOCH_US = 946_684_800_000_000      # PostgreSQL rounds away from zero around 2000-01-01


def fraction_loss(src: ColumnFacts, tgt: ColumnFacts) -> tuple[int, int] | None:
    """(source digits, target digits) when the target keeps fewer fractional-second digits."""
    if src.kind not in ("timestamp", "time") or tgt.kind != src.kind:
        return None
    have, need = tgt.fraction, 6 if src.fraction is None else src.fraction
    if have is None or have >= min(need, 6):
        return None
    return min(need, 6), have


def describe_loss(source_digits: int, target_digits: int) -> str:
    return f"{UNITS[source_digits]} → {UNITS[target_digits]}"


def _div(x: pa.Array, s: int) -> pa.Array:          # x // s for x >= 0 (Arrow's integer divide truncates)
    return pc.divide(x, pa.scalar(s, pa.int64()))


def fit_fraction(values: pa.Array | pa.ChunkedArray, digits: int, fits: str = "truncate"):
    """``values`` (timestamp[us] or time64[us]) as a column with ``digits`` fractional digits
    stores them: ``truncate`` (MariaDB: toward the earlier instant), ``round`` (half up: MariaDB
    with TIME_ROUND_FRACTIONAL) or ``round_pg`` (PostgreSQL: half away from zero around
    2000-01-01 for timestamps)."""
    if digits >= 6:
        return values
    t = values.type
    s = 10 ** (6 - digits)
    x = pc.cast(values, pa.int64())
    offset = _PG_EPOCH_US if fits == "round_pg" and pa.types.is_timestamp(t) else 0
    if offset:
        x = pc.subtract(x, pa.scalar(offset, pa.int64()))
    if fits == "truncate":       # floor: -((-x + s - 1) // s) * s below zero
        neg = pc.negate(_div(pc.add(pc.negate(x), pa.scalar(s - 1, pa.int64())), s))
        q = pc.if_else(pc.greater_equal(x, 0), _div(x, s), neg)
    elif fits == "round":        # floor((x + s/2) / s)
        y = pc.add(x, pa.scalar(s // 2, pa.int64()))
        neg = pc.negate(_div(pc.add(pc.negate(y), pa.scalar(s - 1, pa.int64())), s))
        q = pc.if_else(pc.greater_equal(y, 0), _div(y, s), neg)
    else:                        # sign(x) * ((|x| + s/2) // s)
        mag = _div(pc.add(pc.abs(x), pa.scalar(s // 2, pa.int64())), s)
        q = pc.if_else(pc.less(x, 0), pc.negate(mag), mag)
    out = pc.multiply(q, pa.scalar(s, pa.int64()))
    if offset:
        out = pc.add(out, pa.scalar(offset, pa.int64()))
    if pa.types.is_time(t):      # 23:59:59.6 rounded stays within the day (PostgreSQL would say 24:00:00)
        out = pc.min_element_wise(out, pa.scalar(86_400_000_000 - s, pa.int64()), skip_nulls=False)
    return pc.cast(out, t)


# ---------------------------------------------------------------- collations
def fold_risk(src: ColumnFacts, tgt: ColumnFacts) -> frozenset:
    """What the target's collation folds that the source's distinguishes (text columns)."""
    if src.kind != "text" or tgt.kind != "text":
        return frozenset()
    return frozenset(tgt.folds) - frozenset(src.folds)


def fold(values: pa.Array | pa.ChunkedArray, folds) -> pa.Array | pa.ChunkedArray:
    """``values`` with what a collation folding ``folds`` ignores removed (a superset: a pair
    equal here is confirmed by the database itself)."""
    if TRAILING in folds:
        values = pc.utf8_rtrim(values, characters=" ")
    if CASE in folds:
        values = pc.utf8_lower(values)
    if ACCENTS in folds:
        values = pc.replace_substring_regex(pc.utf8_normalize(values, "NFD"), pattern=r"\p{Mn}", replacement="")
    return values


def candidate_collisions(keys: pa.Table, folds_by_column: dict[str, frozenset], most: int = 5) -> list[list[dict]]:
    """Groups of distinct rows of ``keys`` that become equal once each text column in
    ``folds_by_column`` is folded (other columns compared as they are); at most ``most`` groups,
    each with up to 3 keys."""
    if keys.num_rows < 2 or not folds_by_column:
        return []
    names = keys.column_names
    keys = keys.group_by(names).aggregate([])          # distinct
    folded = {f"__f_{c}": (fold(keys.column(c), folds_by_column[c]) if c in folds_by_column else keys.column(c))
              for c in names}
    work = pa.table({**{c: keys.column(c) for c in names}, **folded})
    fcols = list(folded)
    counts = work.group_by(fcols).aggregate([([], "count_all")])
    dup = counts.filter(pc.greater(counts["count_all"], 1)).select(fcols).slice(0, most)
    if not dup.num_rows:
        return []
    hit = work.join(dup, keys=fcols, join_type="inner").sort_by([(c, "ascending") for c in fcols + names])
    groups: dict[tuple, list[dict]] = {}
    for row in hit.to_pylist():
        g = groups.setdefault(tuple(row[c] for c in fcols), [])
        if len(g) < 3:
            g.append({c: row[c] for c in names})
    return list(groups.values())


def nopad_fix(engine: str, table: str, column: str, facts: ColumnFacts) -> str:
    """The statement that gives a target text key column a collation that distinguishes everything."""
    if engine in ("mysql", "mariadb"):
        declared = facts.declared or "VARCHAR(255)"
        return (f"ALTER TABLE `{table}` MODIFY `{column}` {declared} CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_nopad_bin (utf8mb4_bin ainda iguala espaços no fim)")
    if engine == "postgresql":
        return f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {facts.declared or "text"} COLLATE "C"'
    return (f"recrie a tabela {table!r} com a coluna {column!r} sem COLLATE {facts.collation} (o SQLite não "
            "altera a colação de uma coluna existente)")
