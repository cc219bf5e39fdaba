"""What a sync run does on the producing side after its journal tables were committed at the
target: record the store's positions there and prune (``capture/prune.py``).

Best effort: the data and the positions that count are committed already; a producer that
cannot be written now (a read-only user, the server gone) is warned about and pruned next time
(or by age), nothing is lost."""
from __future__ import annotations

import logging

from sinc_pipeline.capture.install import ORIGIN, STORE, produced_at
from sinc_pipeline.capture.positions import decode
from sinc_pipeline.capture.prune import after_sync
from sinc_pipeline.core.db import connect, redact
from sinc_pipeline.settings import Settings, StoreConfig

log = logging.getLogger(__name__)


def after_journal(settings: Settings, store: StoreConfig, direction: str, plans: list, positions: list) -> None:
    done = {}
    for plan, pos in zip(plans, positions):
        p = decode(pos) if plan.config.capture == "journal" else None
        if p is not None:
            done[_captured_name(plan.config, direction)] = p.seq
    side = ORIGIN if direction == "receive" else STORE
    record_and_prune(settings, store, side, direction, done)


def consumers(settings: Settings, store: StoreConfig, side: str) -> list[tuple[str, str, str]]:
    """Every (store, table, direction) that reads the journal of ``side`` (the origin, or
    ``store``'s database): one-way tables under their direction, two-way tables under "both"."""
    stores = settings.stores if side == ORIGIN else [store]
    out = []
    for t in produced_at(settings, side):
        name = t.name if side == ORIGIN else t.target_name
        out += [(s.id, name, t.direction) for s in stores]
    return out


def record_and_prune(settings: Settings, store: StoreConfig, side: str, direction: str,
                     done: dict[str, int]) -> None:
    """Record ``store``'s positions ``done`` (captured table -> position) on ``side`` under
    ``direction`` and prune what every consumer of that journal has passed."""
    if not done:
        return
    if side == ORIGIN:
        url, role = settings.origin.url, "de origem"
    else:
        url, role = store.url, f"da loja {store.id}"
    try:
        with connect(url, role, write=True) as conn:
            maria = conn.dialect.name in ("mysql", "mariadb")
            if maria:   # an open POS transaction must not stall the run (its rows are pruned next time)
                conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 2")
            try:
                n = after_sync(conn, store.id, direction, done, consumers(settings, store, side),
                               settings.journal.max_age_hours * 3600)
            finally:
                if maria:
                    conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = DEFAULT")
        if n:
            log.info("Captura de alterações: %s entradas podadas no banco %s %s", n, role, redact(url))
    except Exception as err:  # noqa: BLE001 - see the module's docstring
        log.warning("Captura de alterações: posição da loja %s não registrada no banco %s %s (a poda espera a "
                    "próxima execução): %s", store.id, role, redact(url), err)


def _captured_name(cfg, direction: str) -> str:
    return cfg.name if direction == "receive" else cfg.target_name
