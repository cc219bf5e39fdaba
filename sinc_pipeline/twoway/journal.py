"""Journal mode of a two-way table (``direction: both`` with ``capture: journal``).

Capture triggers record the table's changes on both sides (``capture/``): the origin's
``sinc_alteracoes`` (entries of every store, each with its ``escopo``) and each store's. A sync
reads, first and in each side's snapshot, the keys journaled after the store's two positions
(the origin's restricted to the store's scope), then the current rows of just those keys on both
sides and their base rows; the same three-way merge runs over them (``twoway/merge.py``): a key
no side journaled is unchanged on both since the base, so it is in sync and needs nothing.

The two positions are kept at the origin in ``sinc_estado`` (directions ``both-origem`` and
``both-loja``), written in the origin's final transaction together with the origin's changes
and the new base, so a crash before it re-reads the same entries (the merge is idempotent). When
a side's journal cannot tell (no position yet, a position below the pruned horizon, a producer
restored or reinstalled: ``capture/journal.py``) the table is compared in full once and the
positions read at the start of that comparison are saved. The sync's own writes are not captured
(``capture/applying.py``), so nothing echoes back.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pyarrow as pa
from sqlalchemy.engine import Connection

from sinc_pipeline.capture.install import ORIGIN, STORE
from sinc_pipeline.capture.journal import read_journal
from sinc_pipeline.capture.positions import decode
from sinc_pipeline.sync.changes import journal_source
from sinc_pipeline.sync.state import get_cursor, set_cursor
from sinc_pipeline.sync.sides import Side

log = logging.getLogger(__name__)

SIDES = (ORIGIN, STORE)
STATE = {ORIGIN: "both-origem", STORE: "both-loja"}   # sinc_estado.direcao at the origin
LABEL = {ORIGIN: "origem", STORE: "loja"}


@dataclass
class JournalKeys:
    """What the journals of both sides say for one store and table."""
    keys: pa.Table | None                       # changed keys (the merge's key columns); None: compare in full
    saved: dict[str, str | None]                # side -> position saved at the origin before this sync
    positions: dict[str, str]                   # side -> the new position (encoded)
    entries: int = 0                            # distinct keys read, both journals
    reasons: list[str] = field(default_factory=list)

    def changed(self, side: str) -> bool:
        return self.positions[side] != self.saved[side]

    def seqs(self) -> dict[str, int]:
        return {side: decode(self.positions[side]).seq for side in SIDES}

    def cursor(self) -> str:
        return " · ".join(f"{LABEL[s]} {self.positions[s]}" for s in SIDES)


def saved_positions(oc: Connection, store_id: str, table: str) -> dict[str, str | None]:
    out = {}
    for side in SIDES:
        value = get_cursor(oc, store_id, table, STATE[side])
        out[side] = None if value is None else str(value)
    return out


def read_changed_keys(plan, o_side: Side, s_side: Side, store_id: str, wait_s: int) -> JournalKeys:
    """Read both journals (call before any row of the table is read in these snapshots)."""
    cfg = plan.config
    saved = saved_positions(o_side.conn, store_id, cfg.name)
    reads = {}
    for side, s in ((ORIGIN, o_side), (STORE, s_side)):
        src = journal_source(plan, s, side)
        with s.naming_failures("leitura do journal"):
            reads[side] = read_journal(src, s.conn.dialect.name, saved[side], wait_s)
    positions = {side: r.position.encode() for side, r in reads.items()}
    reasons = [f"{LABEL[side]}: {r.reason}" for side, r in reads.items() if r.keys is None]
    if reasons:
        first = all(saved[side] is None for side in SIDES)
        log.log(logging.INFO if first else logging.WARNING,
                "Modo journal, tabela bidirecional %r (loja %s): comparando a tabela inteira uma vez (%s); depois "
                "segue pelo journal", cfg.name, store_id, "; ".join(reasons))
        return JournalKeys(None, saved, positions, 0, reasons)
    key = o_side.key
    both = pa.concat_tables([reads[ORIGIN].keys.select(key), reads[STORE].keys.select(key)])
    keys = both.group_by(key).aggregate([]).select(key) if both.num_rows else both
    return JournalKeys(keys, saved, positions, sum(r.entries for r in reads.values()))


def save_positions(oc: Connection, store_id: str, table: str, jk: JournalKeys, run_id: str | None) -> None:
    """Write the positions that moved, in the origin's final transaction (with the base)."""
    for side in SIDES:
        if jk.changed(side):
            set_cursor(oc, store_id, table, STATE[side], jk.positions[side], run_id)
