"""The keys a sync wrote (inserted, updated or deleted), handed to its check (``sync/verify.py``).

Key columns only, in the logical compare space. Past ``WRITTEN_CAP`` keys (a first load, a
large backlog) they are not kept: ``Written.all`` then says the check must compare in full."""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from sinc_pipeline.sync.diff import Changes

WRITTEN_CAP = 100_000


@dataclass
class Written:
    keys: pa.Table | None     # None: more than WRITTEN_CAP (compare in full)

    @property
    def all(self) -> bool:
        return self.keys is None


def written_keys(changes: Changes, key: list[str]) -> Written:
    parts = [t.select(key) for t in (changes.inserts, changes.updates, changes.deletes) if t.num_rows]
    n = sum(p.num_rows for p in parts)
    if n > WRITTEN_CAP:
        return Written(None)
    schema = changes.inserts.select(key).schema
    return Written(pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table())


def add_written(a: Written | None, b: Written | None) -> Written | None:
    """The keys of two batches of one run."""
    if a is None or b is None:
        return a or b
    if a.keys is None or b.keys is None or a.keys.num_rows + b.keys.num_rows > WRITTEN_CAP:
        return Written(None)
    return Written(pa.concat_tables([a.keys, b.keys]))
