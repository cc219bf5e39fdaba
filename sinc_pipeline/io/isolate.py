"""Applying a unit so that the rows a database refuses hold back only themselves.

``apply_isolating`` runs ``writer.apply`` inside a SAVEPOINT. When nothing fails that is the
whole cost (SAVEPOINT + RELEASE: no per-row statement). When the database refuses a row with a
*data* error (``is_data_error``: a constraint, a value too long, a character the column's charset
cannot hold), the savepoint is rolled back and the unit applied again with every batch in its
own savepoint: a failing batch is split in halves down to the single rows that fail (a half
known to fail is split without being run, so one bad row among n costs about log2(n) extra
statements), and those rows are returned as ``Refused`` while everything else is written.

``expand`` (given by the caller, ``sync/held.py``) may add rows that belong with the refused ones
(a sale with its items); then the pass is rolled back and run again without them, until a pass
refuses nothing new. Any other error (connection lost, database locked, a bug) propagates: the
caller's transaction is rolled back as before.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.errors import DataError
from sinc_pipeline.io.writer import Batch, Hook, Target, apply, run_batch
from sinc_pipeline.sync.diff import Changes

# MariaDB/MySQL codes of values a column cannot hold, whatever class the driver gives them
_MYSQL_DATA = {1048, 1062, 1264, 1265, 1292, 1366, 1406, 1451, 1452, 3819, 4025}
MAX_PASSES = 20          # each pass holds at least one more row
MAX_REFUSED = 1000       # more refused rows than this in one unit: a schema problem, not a bad row


def is_data_error(err: BaseException) -> bool:
    """Did the database refuse the data (and only it)? IntegrityError, DataError and MariaDB's
    1366 incorrect string value / 1406 data too long (and kin); never a connection error."""
    if isinstance(err, sa.exc.IntegrityError | sa.exc.DataError):
        return True
    orig = getattr(err, "orig", None)
    code = orig.args[0] if orig is not None and getattr(orig, "args", None) else None
    return isinstance(err, sa.exc.DBAPIError) and isinstance(code, int) and code in _MYSQL_DATA


@dataclass
class Refused:
    """One row the database refused: the unit's item, the operation, the row (logical names)
    and the database's message (first line)."""
    item: int
    op: str
    row: dict
    message: str
    linked: bool = False       # held because a row it belongs with was refused (see ``expand``)
    column: str | None = None  # the logical column, when known


Items = list[tuple[Target, Changes]]
Expand = Callable[[Items, list[Refused]], tuple[Items, list[Refused]] | None]


@dataclass
class _Careful:
    """The executor of a careful pass: every batch in a savepoint, failing batches bisected."""
    items: Items
    refused: list[Refused] = field(default_factory=list)
    statements: int = 0

    def __call__(self, conn: Connection, stmt, params: list, batch: Batch) -> int:
        item = next(i for i, (t, _) in enumerate(self.items) if t is batch.target)
        return self._try(conn, stmt, params, batch, item, 0, len(params), known_bad=False)

    def _try(self, conn, stmt, params, batch: Batch, item: int, lo: int, hi: int, known_bad: bool) -> int:
        if hi - lo > 1 and known_bad:
            return self._split(conn, stmt, params, batch, item, lo, hi)
        sp = conn.begin_nested()
        try:
            self.statements += 1
            run_batch(conn, stmt, params[lo:hi])
        except Exception as err:
            if not is_data_error(err):
                raise
            sp.rollback()
            if hi - lo == 1:
                row = batch.rows.slice(lo, 1).to_pylist()[0]
                self.refused.append(Refused(item, batch.op, row, refusal_message(err)))
                if len(self.refused) > MAX_REFUSED:
                    raise _too_many(batch, self.refused) from err
                return 0
            return self._split(conn, stmt, params, batch, item, lo, hi)
        sp.commit()
        return hi - lo

    def _split(self, conn, stmt, params, batch, item, lo, hi) -> int:
        mid = (lo + hi) // 2
        left = self._try(conn, stmt, params, batch, item, lo, mid, known_bad=False)
        # the whole failed: when the left half went through, the fault is in the right half
        return left + self._try(conn, stmt, params, batch, item, mid, hi, known_bad=left == mid - lo)


def refusal_message(err: BaseException) -> str:
    """The database's own words (first line), without the driver's class or tuple wrapping."""
    orig = getattr(err, "orig", None) or err
    args = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):    # PyMySQL: (code, text)
        text = f"{args[1]} ({args[0]})"
    else:
        text = str(orig)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[0] if lines else type(orig).__name__)[:500]


def _too_many(batch: Batch, refused: list[Refused]) -> DataError:
    first = refused[0]
    return DataError(f"O banco recusou mais de {MAX_REFUSED} linhas numa só gravação; nada foi gravado",
                     where=f"tabela {batch.target.table.name!r}, primeira chave "
                           f"{ {k: first.row.get(k) for k in batch.target.key} }",
                     cause=first.message,
                     hint="é provavelmente o esquema do destino (tipo, tamanho, charset ou restrição da coluna), "
                          "não uma linha: corrija a coluna e rode de novo")


def _annotate(conn: Connection, stmt, params: list, batch: Batch) -> int:
    """The normal path's executor: plain executemany; an error names the keys of the batch."""
    try:
        run_batch(conn, stmt, params)
    except Exception as err:
        keys = batch.rows.select(batch.target.key)
        first, last = keys.slice(0, 1).to_pylist(), keys.slice(keys.num_rows - 1, 1).to_pylist()
        err.sinc_key = (f"chave {first[0]}" if keys.num_rows == 1 else
                        f"chaves de {first[0]} a {last[0]} ({keys.num_rows} linhas)") if first else None
        raise
    return len(params)


def apply_isolating(conn: Connection, items: Items, hook: Hook = None,
                    expand: Expand | None = None) -> tuple[list[dict], list[Refused]]:
    """``writer.apply`` that holds back the rows the database refuses (see the module docstring):
    (counts of what was written, the refused and linked rows)."""
    sp = conn.begin_nested()
    try:
        counts = apply(conn, items, hook, _annotate)
    except Exception as err:
        if not is_data_error(err):
            raise
        sp.rollback()
    else:
        sp.commit()
        return counts, []
    held: list[Refused] = []
    for _ in range(MAX_PASSES):
        careful = _Careful(items)
        sp = conn.begin_nested()
        counts = apply(conn, items, hook, careful)
        for r in careful.refused:
            held.append(r)
        more = expand(items, careful.refused) if expand is not None and careful.refused else None
        if more is None:
            sp.commit()
            return counts, held
        sp.rollback()          # rows linked to a refused one were written: run again without them
        items, linked = more
        held += linked
    raise DataError(f"As linhas recusadas pelo banco não se estabilizaram em {MAX_PASSES} tentativas",
                    where=", ".join(t.table.name for t, _ in items),
                    hint="confira as restrições (chaves estrangeiras, UNIQUE, CHECK) do destino")
