"""Gates: checks that may hold rows back before a unit is applied (the fiscal checks are one).

A gate sees the unit's changes in the logical compare space, inside the target's transaction,
and returns what may be applied, extra writes for the same transaction, the lowest cursor of the
rows it held (so they are re-read next run) and metadata for each table's result. Gates are
derived by the sync core itself from the settings and the unit (``sync.unit.gate_for``): no
caller can send a unit past its checks.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from sinc_pipeline.core.layout import TablePlan
from sinc_pipeline.settings import StoreConfig
from sinc_pipeline.sync.diff import Changes


@dataclass
class GateInput:
    """What a gate sees before a unit is applied: the changes, in the logical compare space."""
    store: StoreConfig
    direction: str
    plans: list[TablePlan]
    changes: dict[str, Changes]          # table name -> changes (inserts/updates/deletes)
    target: Connection                   # the write connection, inside the unit's transaction
    run_id: str | None


@dataclass
class GateOutput:
    changes: dict[str, Changes]                                # what may be applied
    held_cursor: dict[str, object] = field(default_factory=dict)  # table -> lowest cursor of held rows
    write: Callable[[Connection], None] | None = None          # extra writes, same transaction
    report: dict[str, dict] = field(default_factory=dict)      # table -> metadata for its result
    levels: frozenset[str] = frozenset()   # report keys that are levels (the last batch's value
                                           # stands); every other int is a count, summed over batches


Gate = Callable[[GateInput], GateOutput]
