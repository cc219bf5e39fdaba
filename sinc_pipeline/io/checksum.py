"""Order- and engine-independent content checksums over Arrow data.

Each value is rendered as text (decimal128 renders exactly, e.g. ``19.90``), each row is
hashed, and the row hashes are summed modulo 2**64: equal contents give equal checksums
whatever the row order or the engine they were read from.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_MASK = (1 << 64) - 1
_NULL = "\x00NULL"


def _batch_hash(batch: pa.RecordBatch | pa.Table) -> int:
    if batch.num_rows == 0:
        return 0
    cols = {}
    for name in batch.column_names:
        col = batch.column(name)
        if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            col = pa.array([None if v is None else v.hex() for v in col.to_pylist()], pa.string())
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        cols[name] = pc.fill_null(col, _NULL).to_pandas()
    df = pd.DataFrame(cols)
    hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
    return int(hashes.sum(dtype="uint64"))


class RunningChecksum:
    """Rows and checksum accumulated piece by piece (the sum is order-independent)."""

    def __init__(self) -> None:
        self.rows, self._total = 0, 0

    def add(self, data: pa.Table | pa.RecordBatch) -> None:
        self.rows += data.num_rows
        self._total = (self._total + _batch_hash(data)) & _MASK

    @property
    def value(self) -> str:
        return f"{self._total:016x}"


def table_checksum(data: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]) -> tuple[int, str]:
    """(row count, 16-hex-digit checksum) of a table or of an iterable of record batches."""
    acc = RunningChecksum()
    for batch in [data] if isinstance(data, pa.Table | pa.RecordBatch) else data:
        acc.add(batch)
    return acc.rows, acc.value
