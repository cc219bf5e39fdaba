"""Pure mapping rules between the origin's (logical) names and a store's physical names.

Renamed columns, excluded columns, and filter columns a store lacks (a checkout database
holds only its own rows: the filter value is added when sending and dropped when receiving).
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Mapping:
    columns: list[str]            # synced logical columns, in origin order
    key: list[str]                # logical key at the origin
    store_key: list[str]          # logical key columns present at the store
    physical: dict[str, str]      # logical -> store column name (present columns only)
    constants: dict[str, object]  # logical filter columns the store lacks -> value

    @classmethod
    def build(cls, logical: list[str], key: list[str], renames: dict[str, str], dropped: list[str],
              constants: dict[str, object]) -> Mapping:
        present = [c for c in logical if c not in dropped]
        return cls(
            columns=list(logical),
            key=list(key),
            store_key=[k for k in key if k not in dropped],
            physical={c: renames.get(c, c) for c in present},
            constants=dict(constants),
        )

    @property
    def store_columns(self) -> list[str]:
        """Logical columns that physically exist at the store."""
        return [c for c in self.columns if c in self.physical]


def add_constants(table: pa.Table, constants: dict[str, object], schema: pa.Schema) -> pa.Table:
    """Fill logical columns a store lacks with the store's filter value, in schema order."""
    n = table.num_rows
    arrays = []
    for f in schema:
        if f.name in table.column_names:
            arrays.append(table.column(f.name))
        else:
            arrays.append(pa.array([constants[f.name]] * n, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)
