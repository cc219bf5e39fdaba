"""The cheap probe of a tick: does one store's sync of one direction have anything to do?

Journal mode only, and only when every table of the direction is in it (a table in diff or
cursor mode always syncs, and then the whole direction does). A store is **idle** when, for
every table, all of this holds; anything else — or any doubt, or an error while probing — means
the normal sync runs (which then says why, or fails naming the problem):

* at the target (``sinc_estado``, ``sinc_erros``: the store for receive, the origin for send):
  a saved journal position for every table (a new store, a first journal run or a position
  that is not a journal one needs the normal path), no repair mark (``<direcao>-reparo``) and no
  held row of the store and direction;
* at the producer (``sinc_alteracoes``, its horizon): capture installed (change table and every
  table's triggers); no position below the pruned horizon and none past what the producer has
  numbered (restored, reinstalled); MariaDB: no position waiting below a gap (``high@since``);
  and no entry of the table after the position (``seq > posição``; PostgreSQL ``transacao >=
  posição``), counting for a scoped receive table only the entries of the store's own scope,
  as the journal read does (``capture/journal.py``).

The probe reads only: it never moves a position, so an entry it cannot see yet (an open
transaction, a commit after the origin was probed) has a number after the saved position and is
found by a later probe — nothing is skipped, at worst one tick later. The origin's side of
receive is read once per tick (run) for every store: one grouped query (the latest number per
table and scope, over the change table's ``(tabela, …)`` index) plus the horizon, cached by run
id (``producer_state``). The target side is two indexed lookups per store.

What an idle store does not do: advance its producer copy of the positions
(``sinc_captura_posicoes``), so pruning waits for it; entries it never needed (another store's
scope) are then removed by ``journal.max_age_hours``, after which it compares in full once, as a
store that was offline that long would.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.install import scope_columns
from sinc_pipeline.capture.positions import decode
from sinc_pipeline.core.db import connect
from sinc_pipeline.core.errors import SincError
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.held_store import ERRORS_TABLE
from sinc_pipeline.sync.state import REPAIR_SUFFIX, STATE_TABLE

log = logging.getLogger(__name__)

IDLE_NOTE = "sem alterações (sondagem)"


@dataclass(frozen=True)
class ProbedTable:
    name: str                  # the config's name (sinc_estado, sinc_erros)
    captured: str              # its name in the producer's sinc_alteracoes
    scope: str | None = None   # the store's escopo text (scoped receive table), else None


@dataclass(frozen=True)
class ProducerState:
    """What the producing side's journal says right now."""
    engine: str                                 # sqlite | postgresql | mysql
    missing: str | None = None                  # capture not installed: what is missing
    horizon: int = 0                            # below it entries may be pruned
    head: int = 0                               # the highest number given out (PostgreSQL: xmax)
    latest: dict = field(default_factory=dict)  # (tabela, escopo) -> highest seq (PostgreSQL: transacao)


@dataclass(frozen=True)
class TargetState:
    """What the written side keeps for the store and direction."""
    positions: dict                 # config name -> saved position text (absent: none)
    repair: frozenset = frozenset()
    held: int = 0
    has_state: bool = True          # sinc_estado exists


@dataclass(frozen=True)
class Probe:
    idle: bool
    reason: str
    positions: dict = field(default_factory=dict)   # idle: config name -> saved position


def decide(tables: list[ProbedTable], target: TargetState, producer: ProducerState) -> Probe:
    """Pure: idle, or the first reason found to sync."""
    if not target.has_state:
        return Probe(False, "sem sinc_estado (loja nova)")
    if target.held:
        return Probe(False, f"{target.held} linha(s) retida(s) em sinc_erros")
    if producer.missing:
        return Probe(False, f"captura não instalada: {producer.missing}")
    for t in tables:
        if t.name in target.repair:
            return Probe(False, f"tabela {t.name!r} marcada para reparo")
        pos = decode(target.positions.get(t.name))
        if pos is None:
            return Probe(False, f"tabela {t.name!r} sem posição salva do journal")
        if pos.seq < producer.horizon:
            return Probe(False, f"tabela {t.name!r}: posição {pos.seq} anterior ao horizonte {producer.horizon}")
        if pos.seq > max(producer.head, producer.horizon):
            return Probe(False, f"tabela {t.name!r}: posição {pos.seq} além do que o banco produtor numerou")
        if pos.high is not None:
            return Probe(False, f"tabela {t.name!r}: lacuna de numeração aguardada")
        latest = [v for (name, scope), v in producer.latest.items()
                  if name == t.captured and (t.scope is None or scope == t.scope)]
        newest = max(latest, default=None)
        if newest is not None and (newest >= pos.seq if producer.engine == "postgresql" else newest > pos.seq):
            return Probe(False, f"tabela {t.name!r}: alterações novas no journal")
    return Probe(True, IDLE_NOTE, {t.name: target.positions[t.name] for t in tables})


# ------------------------------------------------------------------------------------ reading

def producer_state(conn: Connection, captured: list[str]) -> ProducerState:
    """The producer's journal for ``captured`` tables, in ``conn``'s snapshot (a few statements)."""
    engine = q.engine_family(conn.dialect.name)
    insp = sa.inspect(conn)
    for name in (q.CHANGES, q.HORIZON):
        if not insp.has_table(name):
            return ProducerState(engine, f"a tabela {name} não existe")
    for t in captured:
        n = conn.execute(sa.text(q.triggers_installed_sql(engine)), {"t": t}).scalar()
        if int(n or 0) < q.TRIGGERS_PER_TABLE[engine]:
            return ProducerState(engine, f"os gatilhos da tabela {t!r} não existem")
    horizon = int(conn.execute(sa.text(f"SELECT horizonte FROM {q.HORIZON} WHERE id = 1")).scalar() or 0)
    if engine == "postgresql":
        head = int(conn.exec_driver_sql(
            "SELECT CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS TEXT) AS BIGINT)").scalar())
    else:
        head = int(conn.execute(sa.text(q.horizon_sql(engine))).scalar() or 0)
    col = "transacao" if engine == "postgresql" else "seq"
    rows = conn.execute(sa.text(f"SELECT tabela, escopo, MAX({col}) FROM {q.CHANGES} WHERE tabela IN :t "
                                "GROUP BY tabela, escopo").bindparams(sa.bindparam("t", expanding=True)),
                        {"t": list(captured)}).all()
    return ProducerState(engine, None, horizon, head, {(r[0], r[1]): int(r[2]) for r in rows})


def target_state(conn: Connection, store_id: str, direction: str, names: list[str]) -> TargetState:
    insp = sa.inspect(conn)
    if not insp.has_table(STATE_TABLE):
        return TargetState({}, has_state=False)
    positions, repair = {}, set()
    for tabela, direcao, value in conn.execute(
            sa.text(f"SELECT tabela, direcao, cursor_valor FROM {STATE_TABLE} WHERE loja = :l AND direcao IN (:d, :r)"),
            {"l": store_id, "d": direction, "r": direction + REPAIR_SUFFIX}):
        if direcao == direction:
            if value is not None:
                positions[tabela] = value
        elif tabela in names:
            repair.add(tabela)
    held = 0
    if insp.has_table(ERRORS_TABLE):
        held = int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {ERRORS_TABLE} WHERE loja = :l AND direcao = :d"),
                                {"l": store_id, "d": direction}).scalar() or 0)
    return TargetState(positions, frozenset(repair), held)


_cache: dict[tuple, ProducerState] = {}
_cache_lock = threading.Lock()
_CACHE_RUNS = 8


def _origin_state(settings: Settings, captured: list[str], run_id: str | None) -> ProducerState:
    """The origin's journal (receive), read once per run (tick) and shared by its stores."""
    key = (run_id, settings.origin.url, tuple(captured))
    with _cache_lock:
        if run_id is not None and key in _cache:
            return _cache[key]
        with connect(settings.origin.url, "de origem", snapshot=True) as conn:
            state = producer_state(conn, captured)
        if run_id is not None:
            while len(_cache) >= _CACHE_RUNS:
                _cache.pop(next(iter(_cache)))
            _cache[key] = state
        return state


def probed_tables(settings: Settings, store_id: str, direction: str) -> list[ProbedTable] | None:
    """The direction's tables as the probe sees them; None when one is not in journal mode."""
    tables = [t for t in settings.tables if t.direction == direction]
    if not tables or any(t.capture != "journal" for t in tables):
        return None
    store = settings.store(store_id)
    out = []
    for t in tables:
        cols = scope_columns(settings, t)
        out.append(ProbedTable(t.name, t.name if direction == "receive" else t.target_name,
                               q.scope_text(store.filter, cols) if cols else None))
    return out


def probe_store(settings: Settings, store_id: str, direction: str, run_id: str | None = None) -> Probe:
    """Idle or not (with the reason), reading only; an error while probing means: sync."""
    tables = probed_tables(settings, store_id, direction)
    if tables is None:
        return Probe(False, "há tabelas fora do modo journal")
    store = settings.store(store_id)
    names, captured = [t.name for t in tables], [t.captured for t in tables]
    try:
        if direction == "receive":
            with connect(store.url, f"da loja {store.id}") as conn:
                target = target_state(conn, store.id, direction, names)
            producer = _origin_state(settings, captured, run_id) if target.has_state else None
        else:
            with connect(settings.origin.url, "de origem") as conn:
                target = target_state(conn, store.id, direction, names)
            producer = None
            if target.has_state:
                with connect(store.url, f"da loja {store.id}", snapshot=True) as conn:
                    producer = producer_state(conn, captured)
    except (SincError, sa.exc.SQLAlchemyError, OSError) as err:
        log.debug("Sondagem da loja %s (%s) falhou, sincronizando: %s", store_id, direction, err)
        return Probe(False, f"sondagem falhou: {err}")
    return decide(tables, target, producer or ProducerState(q.engine_family("sqlite")))


def idle_probe(settings: Settings, store_id: str, direction: str, run_id: str | None,
               simulate: bool = False) -> Probe | None:
    """For the tick (``defs/tick.py``): the probe when the store has nothing to do, else None
    (sync). Off with ``tick.probe: false``; a preview (``simular``) always syncs."""
    if simulate or not settings.tick.probe or direction not in ("send", "receive"):
        return None
    p = probe_store(settings, store_id, direction, run_id)
    if not p.idle:
        log.debug("Loja %s (%s): sincronizando (%s)", store_id, direction, p.reason)
    return p if p.idle else None
