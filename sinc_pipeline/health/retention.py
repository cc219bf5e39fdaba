"""Which old runs ``limpeza_dagster`` may delete: pure over plain tuples, no dagster import.

A run is kept, however old, while it holds the latest materialization or the latest check
evaluation of some (asset, partition): deleting it would make the catalog forget that partition.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class AssetEvent:
    kind: str                 # "materializacao" | "verificacao" (check evaluation)
    key: str                  # asset key, or "asset:check" for a check
    partition: str | None
    storage_id: int
    run_id: str


def protected_runs(events: Iterable[AssetEvent]) -> set[str]:
    """Run ids holding the latest event per (kind, key, partition)."""
    latest: dict[tuple, AssetEvent] = {}
    for ev in events:
        slot = (ev.kind, ev.key, ev.partition)
        if slot not in latest or ev.storage_id > latest[slot].storage_id:
            latest[slot] = ev
    return {ev.run_id for ev in latest.values()}


def runs_to_delete(old_run_ids: Iterable[str], protected: set[str]) -> list[str]:
    """Old finished runs minus the protected ones, order kept."""
    return [r for r in old_run_ids if r not in protected]
