"""A consumer's position in a change table, and how it advances (pure: no database).

The position is one number, saved at the target with the rows it covers (``sync/state.py``,
as a cursor value) and, after the run, at the producing side (for pruning):

* SQLite: the highest sequence number. SQLite has one writer, so entries commit in sequence
  order and everything up to the number read is there.
* PostgreSQL: a transaction horizon — the xmin of the snapshot the entries were read in. Every
  transaction below it had ended (committed or rolled back) when they were read, so the
  entries with ``position <= transacao < xmin`` are complete and are read next time; a
  transaction still open (with lower sequence numbers than entries already committed) is at
  or above the xmin and is read when it has ended. Sequence numbers are not used for this: a
  sequence number is taken at insert time, not at commit.
* MariaDB: the highest sequence number below which no number is missing. A missing number is
  an open transaction (AUTO_INCREMENT hands numbers out at insert time) or a rolled-back one
  (a permanent gap). Entries above a gap are read (and re-read: reading a key twice is
  harmless), the position waits below it; a gap that has been there for ``wait_s`` seconds is
  skipped with a WARNING. To know how long, the position carries ``high@since``: at epoch
  second ``since`` the highest number seen was ``high`` — numbers are handed out in order, so
  every gap below ``high`` existed then.

Encoded as text: ``"P"`` or ``"P/high@since"`` (fits the state table's 64 characters).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    seq: int
    high: int | None = None      # MariaDB: highest number seen when the oldest gap was first seen
    since: int | None = None     # ... and when (epoch seconds)

    def encode(self) -> str:
        if self.high is None or self.since is None:
            return str(self.seq)
        return f"{self.seq}/{self.high}@{self.since}"

    def __str__(self) -> str:
        return self.encode()


def decode(value) -> Position | None:
    """A saved position (text or number), None when there is none or it is not a journal position
    (e.g. a table that was in cursor mode before)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return Position(value)
    text = str(value)
    try:
        if "/" not in text:
            return Position(int(text))
        seq, rest = text.split("/", 1)
        high, since = rest.split("@", 1)
        return Position(int(seq), int(high), int(since))
    except ValueError:
        return None


@dataclass(frozen=True)
class Advance:
    position: Position
    skipped: list[tuple[int, int]]     # gaps given up on: (first, last) missing numbers
    waiting: list[tuple[int, int]]     # gaps still waited for


def _gaps(start: int, seqs: Sequence[int], step: int) -> list[tuple[int, int, int]]:
    """(first missing, last missing, index of the seq after the gap) between ``start`` and each seq."""
    out, prev = [], start
    for i, s in enumerate(seqs):
        if s - prev > step:
            out.append((prev + 1, s - 1, i))
        prev = max(prev, s)
    return out


def advance_gaps(pos: Position, seqs: Sequence[int], now: int, wait_s: int, step: int = 1) -> Advance:
    """MariaDB: the new position after reading ``seqs`` (sorted, every table's numbers above
    ``pos.seq`` visible in the read's snapshot). ``step``: the server's auto_increment_increment."""
    if not seqs:
        return Advance(pos, [], [])
    top = seqs[-1]
    gaps = _gaps(pos.seq, seqs, step)
    expired = pos.high is not None and pos.since is not None and now - pos.since >= wait_s
    skipped = [(a, b) for a, b, _ in gaps if expired and b < pos.high]
    waiting = [(a, b) for a, b, _ in gaps if not (expired and b < pos.high)]
    if not waiting:
        return Advance(Position(top), skipped, [])
    first = waiting[0]
    new_seq = first[0] - 1
    if pos.high is not None and pos.since is not None and not expired and new_seq < pos.high:
        return Advance(Position(new_seq, pos.high, pos.since), skipped, waiting)   # the clock goes on
    return Advance(Position(new_seq, top, now), skipped, waiting)                  # a new clock


def contiguous_head(seqs: Sequence[int], floor: int, step: int = 1) -> int:
    """MariaDB: the highest number of ``seqs`` (sorted, all above ``floor``) with none missing
    between ``floor`` and it (``floor`` when the first is missing)."""
    gaps = _gaps(floor, seqs, step)
    if not gaps:
        return seqs[-1] if seqs else floor
    return gaps[0][0] - 1


def prune_bound(positions: Sequence[int | None]) -> int | None:
    """The highest position every consumer has passed (None when one has no position yet)."""
    if not positions or any(p is None for p in positions):
        return None
    return min(positions)
