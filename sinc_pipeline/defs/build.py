"""Assemble the Definitions from the settings: each feature builds its own, merged here with
the shared resources (the settings and the per-store lock), added once."""
from __future__ import annotations

from dagster import Definitions

from sinc_pipeline.settings import Settings
from sinc_pipeline.defs import (alerts, capture_jobs, fiscal_assets, freshness, health_assets, held_assets, hygiene,
                                orphans, reconcile_assets, snapshot_assets, stock_assets, sync, twoway_assets)
from sinc_pipeline.defs.resources import lock_resource, settings_resource

FEATURES = (sync, snapshot_assets, stock_assets, fiscal_assets, held_assets, capture_jobs, reconcile_assets,
            twoway_assets, hygiene, alerts, health_assets, freshness, orphans)   # each: build(settings) -> Definitions


def build_defs(settings: Settings) -> Definitions:
    shared = Definitions(resources={"sinc_config": settings_resource(settings),
                                    "trava_loja": lock_resource(settings)})
    return Definitions.merge(*(feature.build(settings) for feature in FEATURES), shared)
