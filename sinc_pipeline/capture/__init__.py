"""Change capture (journal mode, ``capture: journal``): triggers record each insert, update and
delete of a synced table in ``sinc_alteracoes`` on the side that produces its changes, in the
writing transaction; the sync reads the keys changed since the store's position instead of
comparing whole tables.

    sql.py         the DDL and queries per engine (pure)
    positions.py   a consumer's position and how it advances, out-of-order commits (pure)
    journal.py     reading the changed keys and the new position, in the sync's snapshot
    applying.py    no echo: the sync's own writes are not captured back
    install.py     installing / removing capture where the changes are made (instalar_captura)
    prune.py       each consumer's position on the producing side, pruning, the horizon
    maintenance.py what a run does on the producing side after its commit
"""
from sinc_pipeline.capture.applying import applying, end_applying, mark_applying

__all__ = ["applying", "end_applying", "mark_applying"]
