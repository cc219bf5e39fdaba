"""All the units of one direction for one store, planned from the foreign keys at run time.

``sync_direction`` reflects the foreign keys on both sides (``sync/fks.py``), plans the units
(``sync/plan.py``: tables linked by foreign keys in one transaction, parents-first) and runs
each with ``sync_unit``. A config that contradicts the foreign keys is refused before anything
is written. With ``keep_going`` a unit that fails does not stop the others (they are unrelated
by construction: no foreign key joins two units); the errors are returned with the results.
"""
from __future__ import annotations

from collections.abc import Iterator

from sinc_pipeline.core.errors import SincError
from sinc_pipeline.core.logs import run_scope
from sinc_pipeline.io.writer import Hook
from sinc_pipeline.settings import Settings, TableConfig
from sinc_pipeline.sync.fks import planned_units
from sinc_pipeline.sync.plan import linked
from sinc_pipeline.sync.unit import TableResult, sync_unit


def run_units(settings: Settings, store_id: str, direction: str, *, run_id: str | None = None,
              hook: Hook = None, simulate: bool = False
              ) -> Iterator[tuple[list[TableConfig], list[TableResult] | SincError]]:
    """Plan, then run each unit in order, yielding (unit, its results) or (unit, the error that
    stopped it) as each ends; a refused plan raises before the first unit. ``direction`` "both":
    each two-way table on its own (``twoway/sync.py``). ``simulate``: the preview, nothing written."""
    if direction == "both":
        yield from _both(settings, store_id, run_id, simulate)
        return
    with run_scope(run_id):
        units, edges = planned_units(settings, store_id, direction)
    for unit in units:
        try:
            with run_scope(run_id):
                out = sync_unit(settings, store_id, unit, run_id=run_id, hook=hook, batches=not linked(unit, edges),
                                simulate=simulate)
        except SincError as err:
            out = err
        yield unit, out


def sync_direction(settings: Settings, store_id: str, direction: str, *, run_id: str | None = None,
                   hook: Hook = None, keep_going: bool = False,
                   simulate: bool = False) -> tuple[list[TableResult], list[SincError]]:
    """(results of every table that was applied, errors of the units that failed)."""
    results: list[TableResult] = []
    errors: list[SincError] = []
    for _, out in run_units(settings, store_id, direction, run_id=run_id, hook=hook, simulate=simulate):
        if isinstance(out, SincError):
            if not keep_going:
                raise out
            errors.append(out)
        else:
            results += out
    return results, errors


def _both(settings: Settings, store_id: str, run_id: str | None, simulate: bool):
    from sinc_pipeline.twoway.sync import sync_twoway   # here: twoway imports sync.unit
    for t in settings.tables:
        if t.direction != "both":
            continue
        try:
            with run_scope(run_id):
                out = [sync_twoway(settings, store_id, t, run_id=run_id, simulate=simulate)]
        except SincError as err:
            out = err
        yield [t], out
