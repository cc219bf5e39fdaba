"""Retention: keep the newest N full snapshots of a store with their incrementals."""
from __future__ import annotations

from sinc_pipeline.snapshots.catalog import list_snapshots
from sinc_pipeline.snapshots.manifest import COMPLETA, INCREMENTAL, Manifest, SnapshotError
from sinc_pipeline.snapshots.storage import Storage

def apply_retention(storage: Storage, store_id: str, keep_full: int = 7) -> list[str]:
    """Keep the newest ``keep_full`` full snapshots with their incrementals; delete the older
    chains (and anything older than the oldest kept full). Returns the deleted ids.

    Call it only right after a new full snapshot completed: the function itself just keeps the
    newest N full chains, so calling it before would count a failed/absent new full as nothing.
    Deletes newest first, so an interruption leaves each remaining chain a valid prefix."""
    if not isinstance(keep_full, int) or isinstance(keep_full, bool) or keep_full < 1:
        raise SnapshotError(f"keep_full = {keep_full!r} inválido. Dica: use um inteiro >= 1 (padrão 7).")
    snaps = list_snapshots(storage, store_id)
    fulls = [m for m in snaps if m.kind == COMPLETA]
    if len(fulls) <= keep_full:
        return []
    kept_roots = {m.id for m in fulls[-keep_full:]}
    cutoff = fulls[-keep_full].id
    by_id = {m.id: m for m in snaps}

    def root(m: Manifest) -> str | None:
        seen = set()
        while m.kind == INCREMENTAL and m.parent_id in by_id and m.id not in seen:
            seen.add(m.id)
            m = by_id[m.parent_id]
        return m.id if m.kind == COMPLETA else None

    doomed = [m.id for m in snaps if m.id < cutoff or (root(m) is not None and root(m) not in kept_roots)]
    for snapshot_id in reversed(doomed):
        storage.delete_dir(store_id, snapshot_id)
    return doomed
