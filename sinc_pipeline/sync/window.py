"""Which key ranges the post-sync check aggregates this time (``sync/verify.py``).

A table of up to ``check_window_rows`` key values is aggregated whole at every check. A larger
one is aggregated one window of consecutive ranges per check, the next window at the next
check, round the table and back to the start: each check costs the same whatever the table's
size, and every row is covered once per ``ranges / window`` checks (plus nightly by
``conferir_lojas``, which compares every value). Where the next window starts is kept in
``sinc_estado`` on the written side (direction ``<direção>-janela``, position = the first range).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from sinc_pipeline.sync.fingerprint import Buckets, Chosen
from sinc_pipeline.sync.state import get_cursor, set_cursor


def _direction(direction: str) -> str:
    return f"{direction}-janela"


@dataclass
class Window:
    store: str
    table: str
    direction: str
    rows: int                  # key values per check
    start: int = 0             # the saved position: first range of this check's window
    next: int | None = None    # set by ``choose`` when the window moves

    @classmethod
    def load(cls, conn: Connection, store: str, table: str, direction: str, rows: int) -> Window:
        value = get_cursor(conn, store, table, _direction(direction))
        return cls(store, table, direction, rows, value if isinstance(value, int) and value >= 0 else 0)

    def choose(self, buckets: Buckets) -> Chosen:
        """This check's ranges [first, last), or None when one window holds every range."""
        per = max(1, self.rows // buckets.step)
        if buckets.count <= per:
            return None
        first = self.start % buckets.count
        last = min(buckets.count, first + per)
        self.next = last % buckets.count
        return first, last

    @property
    def moves(self) -> bool:
        return self.next is not None and self.next != self.start

    def save(self, conn: Connection) -> None:
        set_cursor(conn, self.store, self.table, _direction(self.direction), self.next, None)
