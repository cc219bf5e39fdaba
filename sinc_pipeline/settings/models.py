"""The configuration file's models (ERP "Configuração"): what each section of ``sinc.yaml`` holds.

One YAML file, path from ``SINC_CONFIG`` (default ``data/sinc.yaml``). ``load_settings`` parses,
expands ``${VAR}`` in URLs from the environment and validates everything that can be checked
without touching a database. Every problem is reported at once, each naming the field path,
the value and a hint (``ConfigError``). What needs a database (tables and columns that exist)
is checked at run time by ``core/layout.py``, before anything is written.
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from sinc_pipeline.core.errors import ConfigError
from sinc_pipeline.fiscal.rules import SERIES_MAX, SERIES_MIN, normalize_cnpj

DEFAULT_CONFIG_PATH = "data/sinc.yaml"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
QUEUE = re.compile(r"^[A-Za-z0-9_.\-]+$")
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Model):
    url: str


class Intervals(_Model):
    send_minutes: StrictInt = Field(5, ge=1, le=1440)
    receive_minutes: StrictInt = Field(5, ge=1, le=1440)


class StoreConfig(_Model):
    id: str
    url: str
    name: str | None = None
    filter: dict[str, StrictInt | str] = Field(default_factory=dict)
    cnpj: str
    nfe_series: StrictInt | None = Field(None, ge=SERIES_MIN, le=SERIES_MAX)
    nfce_series: StrictInt | None = Field(None, ge=SERIES_MIN, le=SERIES_MAX)
    contingency_series: StrictInt | None = Field(None, ge=SERIES_MIN, le=SERIES_MAX)

    @field_validator("cnpj", mode="before")
    @classmethod
    def _cnpj_text(cls, v: Any) -> Any:
        return normalize_cnpj(v) if isinstance(v, str) else v


class TableMapping(_Model):
    """What every table a feature reads on both sides shares (sync tables, stock): its name at the
    store, its key, renamed columns and whether it is scoped to the store's rows."""
    key: list[str]
    store_table: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    scoped: StrictBool = False

    @property
    def origin_name(self) -> str:
        raise NotImplementedError

    @property
    def target_name(self) -> str:
        """The store's name for the table."""
        return self.store_table or self.origin_name

    def store_column(self, column: str) -> str:
        """The store's name for an origin column."""
        return self.columns.get(column, column)


class TableConfig(TableMapping):
    name: str
    direction: Literal["receive", "send", "both"]
    exclude: list[str] = Field(default_factory=list)
    deletes: Literal["propagate", "ignore"] | None = None
    group: str | None = None
    cursor: str | None = None
    cursor_lookback: StrictInt = Field(
        300, ge=0,
        description="Re-read window below the saved cursor: seconds for date/time cursors, units for numeric ones.",
    )
    capture: Literal["journal"] | None = Field(
        None, description="journal: sync what triggers recorded in sinc_alteracoes (see capture/); install with "
                          "instalar_captura. Not together with cursor.")
    allow_rounding: StrictBool = Field(
        False, description="A target column with fewer decimal places than the source: round to it instead of "
                           "refusing the table.")
    on_unrepresentable: Literal["error", "report"] = Field(
        "error", description="A target column whose charset cannot hold every source character: 'error' refuses "
                             "the table before anything is written; 'report' only warns and leaves the rows the "
                             "target refuses to the apply.")

    # two-way tables (direction: both, see twoway/)
    conflicts: Literal["origin_wins", "store_wins", "manual"] | dict[Literal["newest_wins"], str] = Field(
        "origin_wins", description="direction: both: who wins a row changed on both sides since the last sync.")
    origin_columns: list[str] = Field(default_factory=list, description="direction: both: columns the origin owns.")
    store_columns: list[str] = Field(default_factory=list, description="direction: both: columns the store owns.")
    key_scheme: Literal["uuid", "store_prefix"] | None = Field(
        None, description="direction: both, a key without the store's filter column: how stores make keys that "
                          "never collide (a UUID, or text prefixed by the store's id).")
    natural_key: list[str] = Field(default_factory=list, description="direction: both: columns that identify a "
                                   "real-world row (e.g. cpf); the same value under two keys is reported.")

    @property
    def origin_name(self) -> str:
        return self.name

    @property
    def delete_policy(self) -> str:
        if self.deletes:
            return self.deletes
        return "propagate" if self.direction in ("receive", "both") else "ignore"


class JournalConfig(_Model):
    """Journal mode (``capture: journal``) settings shared by its tables."""
    gap_wait_seconds: StrictInt = Field(
        300, ge=0, description="MariaDB: how long a missing sequence number (a transaction still open, or "
                               "rolled back) is waited for before it is skipped with a WARNING.")
    max_age_hours: StrictInt = Field(
        168, ge=1, description="Entries older than this are pruned even if a store has not passed them (that "
                               "store is then compared in full once).")


class SnapshotsConfig(_Model):
    root: str = "data/snapshots"
    keep_full: StrictInt = Field(7, ge=1)


class ReconcileConfig(_Model):
    """Conferir Lojas: the hour of the daily full comparison of every store (schedule ``conferir_lojas_diario``)."""
    hour: StrictInt = Field(3, ge=0, le=23)
    minute: StrictInt = Field(0, ge=0, le=59)
    timezone: str = "America/Sao_Paulo"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        import zoneinfo
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"fuso horário {v!r} desconhecido (ex.: America/Sao_Paulo, UTC)") from None
        return v


class StockConfig(TableMapping):
    table: str = "estoque"
    key: list[str] = Field(default_factory=lambda: ["produto_id"])
    quantity: str = "quantidade"
    scoped: StrictBool = True
    adjustments_table: str = "ajustes_estoque"

    @property
    def origin_name(self) -> str:
        return self.table


class FiscalColumns(_Model):
    cnpj: str = "cnpj"
    model: str = "modelo"
    series: str = "serie"
    number: str = "numero"
    emission_type: str = "tp_emis"
    key: str = "chave"
    status: str = "status"
    issued_at: str = "emitido_em"


class FiscalConfig(_Model):
    table: str = "documentos_fiscais"
    columns: FiscalColumns = Field(default_factory=FiscalColumns)
    quarantine_table: str = "quarentena_fiscal"
    contingency_limit_hours: StrictInt = Field(24, ge=1)
    sale_link: dict[str, str] = Field(
        default_factory=lambda: {"vendas": "id", "venda_itens": "venda_id", "documentos_fiscais": "venda_id"},
        description="Table of the send unit -> its column holding the sale id: the rows held with a failing document.",
    )
    identity_includes_emission_type: StrictBool = Field(
        False, description="Ajuste SINIEF 19/19 states: tpEmis is part of a document's identity.")
    pending_statuses: list[str] = Field(
        default_factory=lambda: ["contingencia", "pendente"],
        description="Statuses of an offline NFC-e not yet transmitted (accent- and case-insensitive).",
    )
    timezone: str = Field("America/Sao_Paulo", description="Zone of the documents' naive timestamps.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from pydantic_core import PydanticCustomError
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError("timezone", "fuso horário desconhecido. Dica: use um nome IANA, "
                                                  "ex.: America/Sao_Paulo ou America/Manaus") from None
        return v


class RetentionConfig(_Model):
    runs_days: StrictInt = Field(30, ge=1, description="Runs (and their event logs) older than this are deleted "
                                                       "by limpeza_dagster, except those holding a partition's latest "
                                                       "materialization or check evaluation.")
    hour: StrictInt = Field(4, ge=0, le=23)
    timezone: str = "America/Sao_Paulo"


class AlertsConfig(_Model):
    webhook_url: str | None = None          # ${VAR} expanded; POSTed a JSON body per failed run
    timeout_seconds: float = Field(5.0, gt=0, le=120)


class TickCeleryConfig(_Model):
    """Where the Celery executor sends a tick's steps (``tick.executor: celery``, defs/executors.py)."""
    broker: str = "amqp://guest:guest@127.0.0.1:5672//"   # ${VAR} expanded; RabbitMQ or redis://
    backend: str = "rpc://"                               # results: rpc:// (the broker) or redis://...
    queue: str = "dagster"                                # the workers' -Q
    config_source: dict[str, Any] = Field(default_factory=dict)   # more Celery settings (lowercase names)

    @field_validator("queue")
    @classmethod
    def _queue(cls, v: str) -> str:
        from pydantic_core import PydanticCustomError
        if not QUEUE.match(v):
            raise PydanticCustomError("queue", "nome de fila inválido. Dica: use letras, dígitos, _, . e -, "
                                               "o mesmo nome do -Q dos workers (ex.: dagster)")
        return v


class TickConfig(_Model):
    """One tick of enviar_dados/receber_dados = one run; its stores in a bounded pool (defs/tick.py),
    or split into ``shards`` steps run by ``executor`` (defs/tick_shards.py)."""
    workers: StrictInt = Field(4, ge=1, le=64)               # stores synced at the same time in one run (per shard)
    origin_connections: StrictInt = Field(4, ge=1, le=64)    # stores syncing against the origin at once (all shards)
    lock_wait_seconds: StrictInt = Field(120, ge=0, le=3600)   # a store busy in another run: wait, then skip
    shards: StrictInt = Field(1, ge=1, le=64)                # steps a tick's stores are split into
    executor: Literal["in_process", "multiprocess", "celery"] = "in_process"   # who runs those steps
    celery: TickCeleryConfig = Field(default_factory=TickCeleryConfig)
    probe: StrictBool = True   # journal mode: a store with nothing to do is probed, not synced (capture/probe.py)

    @property
    def sharded(self) -> bool:
        """Whether the tick job is the split / per-shard / gather graph (else one op, as before)."""
        return self.shards > 1 or self.executor != "in_process"


class Settings(_Model):
    origin: DatabaseConfig
    intervals: Intervals = Field(default_factory=Intervals)
    stores: list[StoreConfig]
    tables: list[TableConfig]
    snapshots: SnapshotsConfig = Field(default_factory=SnapshotsConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    stock: StockConfig | None = None
    fiscal: FiscalConfig | None = None
    chunk_size: StrictInt = Field(50_000, ge=100)
    diff_chunk_rows: StrictInt = Field(250_000, ge=1_000)
    check_window_rows: StrictInt = Field(20_000, ge=10)   # key values the post-sync check aggregates per run
    batch_rows: StrictInt = Field(20_000, ge=100)   # rows per table per transaction of a cursor unit
    cursor_future_minutes: StrictInt = Field(60, ge=0)        # a cursor later than the DB's now + this: not a position
    run_timeout_minutes: StrictInt = Field(30, ge=1)          # a sync/stock/report run that hangs ends
    long_run_timeout_minutes: StrictInt = Field(360, ge=1)    # snapshot, restore, a new store's base
    dagster_home: str = "data/dagster"
    reports_root: str = "data/relatorios"
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    tick: TickConfig = Field(default_factory=TickConfig)

    def store(self, store_id: str) -> StoreConfig:
        for s in self.stores:
            if s.id == store_id:
                return s
        known = ", ".join(s.id for s in self.stores)
        raise ConfigError([f"loja: valor {store_id!r} não existe na configuração. Dica: use uma de: {known}"])

    def table(self, name: str) -> TableConfig:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def units(self, direction: str) -> list[list[TableConfig]]:
        """Tables of one direction grouped into apply units by the config alone (a group, or a lone
        table), in config order. A run plans its units from the foreign keys as well
        (``sync/direction.py``: linked tables join one unit, parents-first)."""
        units: list[list[TableConfig]] = []
        by_group: dict[str, list[TableConfig]] = {}
        for t in self.tables:
            if t.direction != direction:
                continue
            if t.group is None:
                units.append([t])
            elif t.group in by_group:
                by_group[t.group].append(t)
            else:
                by_group[t.group] = [t]
                units.append(by_group[t.group])
        return units
