"""Order- and engine-independent content checksums over Arrow data.

Each row is hashed to 64 bits and the row hashes are summed modulo 2**64: equal contents give
equal checksums whatever the row order or the engine they were read from.

Version 2 (``CHECKSUM_VERSION``, the default) hashes from the Arrow buffers with numpy — no
Python object per value: integers, booleans, dates and times as int64; timestamps as int64
microseconds in UTC (naive and zone-aware values of the same instant hash alike, and so do
``s``/``ms``/``us`` units); decimal128 by its exact unscaled 128-bit value (the scale is the
column type's; 19.90 in ``decimal128(10, 2)`` and in ``decimal128(18, 2)`` hash alike); floats
by their bits (``-0.0`` as ``0.0``, one NaN); text and binary by their UTF-8 bytes, per string
a sum of position-weighted bytes finished by a mixer. A NULL has its own value per column.
Each column's value is mixed with its position, so swapping two columns' values changes it.

Version 1 (``table_checksum(..., version=1)``) renders each value as text and hashes through
pandas object columns; it is kept only to verify snapshot manifests written before version 2
(their entries have no ``checksum_version``).
"""
from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CHECKSUM_VERSION = 2
_MASK = (1 << 64) - 1
_NULL = "\x00NULL"
_U = np.uint64
_NULL_SEED = _U(0x5BD1E9955BD1E995)


# ------------------------------------------------------------------------------------------------
# version 2: vectorised
# ------------------------------------------------------------------------------------------------
def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _U(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
        return z ^ (z >> _U(31))


def _fixed(arr: pa.Array, dtype, width: int = 1) -> np.ndarray:
    """The values buffer of a fixed-width array as numpy (nulls hold whatever; masked later)."""
    buf = arr.buffers()[1]
    data = np.frombuffer(buf, dtype=dtype, count=(arr.offset + len(arr)) * width)
    return data[arr.offset * width:]


_W = np.zeros(0, np.uint64)


def _weights(n: int) -> np.ndarray:
    """Per byte position, an odd 64-bit weight (odd: a one-byte change never cancels); cached."""
    global _W
    if len(_W) < n:
        _W = _mix(np.arange(max(n, 2 * len(_W), 256), dtype=np.uint64)) | _U(1)
    return _W


_BYTES = 1 << 18        # bytes hashed per slice: the per-byte work arrays stay this long
_scratch = threading.local()


def _work(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This thread's per-byte work arrays (two uint64, one int64) of at least ``m`` elements,
    reused from slice to slice: fresh arrays of megabytes each would be mapped and faulted in
    again by the allocator on every slice (measured: 3× the hashing time in a new process)."""
    bufs = getattr(_scratch, "bufs", None)
    if bufs is None or len(bufs[0]) < m:
        size = max(m, _BYTES)
        bufs = _scratch.bufs = (np.empty(size, np.uint64), np.empty(size, np.uint64), np.empty(size, np.int64))
    return bufs


_POS = np.zeros(0, np.int64)


def _positions(m: int) -> np.ndarray:
    """0, 1, 2, … of at least ``m`` elements (read-only, shared, grown when needed)."""
    global _POS
    if len(_POS) < m:
        _POS = np.arange(max(m, 2 * len(_POS), _BYTES), dtype=np.int64)
    return _POS


def _bytes_hash(arr: pa.Array) -> np.ndarray:
    """Per string (or binary value): a position-weighted sum of its bytes, mixed with its length;
    in slices of about ``_BYTES`` bytes (a longer value is a slice of its own)."""
    arr = pc.fill_null(arr, "" if pa.types.is_large_string(arr.type) else b"")
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=arr.offset + n + 1)[arr.offset:]
    lengths = np.diff(offsets).astype(np.uint64)
    end = int(offsets[-1])
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8, count=end) if end > int(offsets[0]) else None
    sums = np.zeros(n, np.uint64)
    i = 0
    while data is not None and i < n:
        j = int(np.searchsorted(offsets, offsets[i] + _BYTES, side="right")) - 1
        j = min(max(j, i + 1), n)
        _weighted_sums(data, offsets[i:j + 1], sums[i:j])
        i = j
    with np.errstate(over="ignore"):
        return _mix(sums ^ (lengths * _U(0xD6E8FEB86659FD93)))


def _weighted_sums(data: np.ndarray, offs: np.ndarray, out: np.ndarray) -> None:
    """``out[k]`` = Σ (byte + 1) × weight(position in the string) over string k's bytes, for the
    strings whose offsets are ``offs`` (into ``data``); in this thread's work arrays."""
    start, stop = int(offs[0]), int(offs[-1])
    m = stop - start
    if m == 0:
        return
    contrib, weights, rel = (b[:m] for b in _work(m))
    rel_starts = offs[:-1] - start
    lens = np.diff(offs)
    nonempty = rel_starts[lens > 0]
    # rel[b] = b - (start of b's string): marks of each string's start, summed along the bytes
    rel[:] = 0
    rel[nonempty[1:]] = np.diff(nonempty)
    np.cumsum(rel, out=rel)
    np.subtract(_positions(m)[:m], rel, out=rel)
    np.take(_weights(int(lens.max())), rel, out=weights)
    np.add(data[start:stop], _U(1), out=contrib, dtype=np.uint64, casting="unsafe")
    with np.errstate(over="ignore"):
        np.multiply(contrib, weights, out=contrib)
        np.cumsum(contrib, out=contrib)
        ends = rel_starts + lens                        # exclusive ends, relative
        hi = np.where(ends > 0, contrib[np.maximum(ends - 1, 0)], _U(0))
        lo = np.where(rel_starts > 0, contrib[np.maximum(rel_starts - 1, 0)], _U(0))
        np.subtract(hi, lo, out=out)


def _strings_hash(arr: pa.Array) -> np.ndarray:
    """Per text/binary value; a column with repeated values (units, codes) hashes each distinct
    value once (Arrow's dictionary encoding) and gathers; ``_bytes_hash`` slices the bytes so
    its per-byte work arrays stay small (cache, and memory)."""
    n = len(arr)
    if not n:
        return np.zeros(0, np.uint64)
    enc = pc.dictionary_encode(arr.slice(0, min(n, 4096)))
    if len(enc.dictionary) * 4 < min(n, 4096):   # repetitive: encode the whole column
        enc = pc.dictionary_encode(arr)
        dh = _strings_hash(enc.dictionary)
        idx = pc.fill_null(enc.indices, 0).cast(pa.int64()).to_numpy()
        return dh[idx] if len(dh) else np.zeros(n, np.uint64)
    return _bytes_hash(arr)


def _canonical(arr: pa.Array) -> tuple[str, pa.Array]:
    """(kind, array) in the canonical form the hash reads: int64, decimal, float, bytes."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_timestamp(t):
        return "int", pc.cast(arr.cast(pa.timestamp(t.unit)), pa.timestamp("us"), safe=False).cast(pa.int64())
    if pa.types.is_date(t):
        return "int", pc.cast(arr, pa.date32(), safe=False).cast(pa.int32()).cast(pa.int64())
    if pa.types.is_time(t):
        return "int", pc.cast(arr, pa.time64("us"), safe=False).cast(pa.int64())
    if pa.types.is_duration(t):
        return "int", pc.cast(arr, pa.duration("us"), safe=False).cast(pa.int64())
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "int", arr.cast(pa.int64())
    if pa.types.is_decimal(t):
        return "decimal", arr.cast(pa.decimal128(38, t.scale))
    if pa.types.is_floating(t):
        return "float", arr.cast(pa.float64())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "bytes", arr.cast(pa.large_string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "bytes", arr.cast(pa.large_binary())
    if pa.types.is_null(t):
        return "int", pa.nulls(len(arr), pa.int64())
    return "bytes", arr.cast(pa.large_string())   # anything else: its text rendering


def column_hashes(arr: pa.Array | pa.ChunkedArray, position: int) -> np.ndarray:
    """One uint64 per value of a column (the column's ``position`` is mixed in)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    kind, arr = _canonical(arr)
    n = len(arr)
    if kind == "int":
        h = _mix(_fixed(arr, np.int64)[:n].view(np.uint64))
    elif kind == "decimal":
        words = _fixed(arr, np.uint64, 2)[:2 * n].reshape(n, 2) if n else np.zeros((0, 2), np.uint64)
        h = _mix(_mix(words[:, 0]) ^ words[:, 1])
    elif kind == "float":
        vals = _fixed(arr, np.float64)[:n].copy()
        vals[vals == 0.0] = 0.0
        vals[np.isnan(vals)] = np.nan
        h = _mix(vals.view(np.uint64))
    else:
        h = _strings_hash(arr)
    if arr.null_count:
        nulls = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        h = np.where(nulls, _NULL_SEED, h)
    with np.errstate(over="ignore"):
        return _mix(h + _U(position + 1) * _U(0x9E3779B97F4A7C15))


def row_hashes(data: pa.Table | pa.RecordBatch) -> np.ndarray:
    """One uint64 per row, from every column in order."""
    acc = np.full(data.num_rows, _U(0x243F6A8885A308D3), np.uint64)
    with np.errstate(over="ignore"):
        for i in range(data.num_columns):
            acc = _mix(acc * _U(0x100000001B3) ^ column_hashes(data.column(i), i))
    return acc


def _batch_hash(batch: pa.RecordBatch | pa.Table) -> int:
    if batch.num_rows == 0:
        return 0
    return int(row_hashes(batch).sum(dtype=np.uint64))


# ------------------------------------------------------------------------------------------------
# version 1: text rendering through pandas (snapshot manifests without ``checksum_version``)
# ------------------------------------------------------------------------------------------------
def _batch_hash_v1(batch: pa.RecordBatch | pa.Table) -> int:
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


_HASHES = {1: _batch_hash_v1, 2: _batch_hash}
CHECKSUM_VERSIONS = tuple(_HASHES)


class RunningChecksum:
    """Rows and checksum accumulated piece by piece (the sum is order-independent)."""

    def __init__(self, version: int = CHECKSUM_VERSION) -> None:
        if version not in _HASHES:
            raise ValueError(f"checksum version {version} unknown (known: {sorted(_HASHES)})")
        self.rows, self._total, self._hash = 0, 0, _HASHES[version]

    def add(self, data: pa.Table | pa.RecordBatch) -> None:
        self.rows += data.num_rows
        self._total = (self._total + self._hash(data)) & _MASK

    @property
    def value(self) -> str:
        return f"{self._total:016x}"


def table_checksum(data: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
                   version: int = CHECKSUM_VERSION) -> tuple[int, str]:
    """(row count, 16-hex-digit checksum) of a table or of an iterable of record batches."""
    acc = RunningChecksum(version)
    for batch in [data] if isinstance(data, pa.Table | pa.RecordBatch) else data:
        acc.add(batch)
    return acc.rows, acc.value
