"""Freshness of the sync assets: Dagster's last-update freshness checks plus the sensor that
evaluates them (``verificar_atualizacao``, on by default).

A send table (``enviar_*``) is stale when it was not materialized for ``3 × intervals.send_minutes``,
a receive table (``receber_*``) for ``3 × intervals.receive_minutes``. Dagster 1.13's
``build_last_update_freshness_checks`` on a statically partitioned asset looks at the latest
materialization of *any* partition: the check says "no store synced this table lately" (the
scheduler or every store is down). Which store is behind is ``saude_lojas``'s per-store lag
(``critico`` past the same three intervals).
"""
import datetime as dt
import time
import warnings

from dagster import (AssetCheckEvaluation, AssetCheckSeverity, DefaultSensorStatus, Definitions, MetadataValue,
                     build_last_update_freshness_checks, build_sensor_for_freshness_checks)

from dagster._utils.warnings import SupersessionWarning

from sinc_pipeline.defs.sync_assets import keys_for
from sinc_pipeline.health.report import STALE_INTERVALS
from sinc_pipeline.settings import Settings

SENSOR = "verificar_atualizacao"
CHECK_NAME = "freshness_check"                       # the name Dagster's factory gives its checks
LAST_UPDATED = "dagster/last_updated_timestamp"      # the metadata keys its sensor reads
FRESH_UNTIL = "dagster/fresh_until_timestamp"


def freshness_checks(settings: Settings) -> list:
    with warnings.catch_warnings():
        # 1.13 marks these superseded by FreshnessPolicy; kept on purpose (see the module's text):
        # they are asset checks the UI and saude_lojas read per run, which the policy is not.
        warnings.simplefilter("ignore", SupersessionWarning)
        return _checks(settings)


def _checks(settings: Settings) -> list:
    checks = []
    for direction, minutes in (("send", settings.intervals.send_minutes),
                               ("receive", settings.intervals.receive_minutes)):
        keys = keys_for(settings, direction)
        if keys:
            checks += build_last_update_freshness_checks(
                assets=keys, lower_bound_delta=dt.timedelta(minutes=STALE_INTERVALS * minutes),
                severity=AssetCheckSeverity.WARN)
    return checks


def build(settings: Settings) -> Definitions:
    checks = freshness_checks(settings)
    if not checks:
        return Definitions()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        sensor = build_sensor_for_freshness_checks(freshness_checks=checks, name=SENSOR, minimum_interval_seconds=60,
                                                   default_status=DefaultSensorStatus.RUNNING)
    return Definitions(asset_checks=checks, sensors=[sensor])


def fresh_evaluations(settings: Settings, direction: str, keys) -> list[AssetCheckEvaluation]:
    """What Dagster's freshness check would say right after ``keys`` were materialized: fresh, until
    three intervals from now. The tick jobs (op jobs, ``defs/tick.py``) log these after syncing: the
    sensor never re-runs a failed freshness check and waits for the run that updates the asset
    (which, in an asset job, would carry the check itself)."""
    minutes = settings.intervals.send_minutes if direction == "send" else settings.intervals.receive_minutes
    now = time.time()
    until = now + STALE_INTERVALS * minutes * 60
    return [AssetCheckEvaluation(asset_key=k, check_name=CHECK_NAME, passed=True, severity=AssetCheckSeverity.WARN,
                                 metadata={LAST_UPDATED: MetadataValue.timestamp(now),
                                           FRESH_UNTIL: MetadataValue.float(until)},
                                 description=f"Atualizado agora; fresco até {STALE_INTERVALS} intervalos "
                                             f"({STALE_INTERVALS * minutes} min).")
            for k in keys]
