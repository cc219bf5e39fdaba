"""Assemble the Definitions from the settings: the one place everything is wired."""
from __future__ import annotations

from dagster import Definitions

from sinc_pipeline.settings import Settings
from sinc_pipeline.defs import fiscal_assets, snapshot_assets, stock_assets
from sinc_pipeline.defs.jobs import build_sync_jobs
from sinc_pipeline.defs.resources import lock_resource, settings_resource
from sinc_pipeline.defs.schedules import build_schedules
from sinc_pipeline.defs.sync_assets import build_sync_assets

FEATURES = (snapshot_assets, stock_assets, fiscal_assets)


def build_defs(settings: Settings) -> Definitions:
    assets, jobs, schedules, checks = build_sync_assets(settings), build_sync_jobs(settings), \
        build_schedules(settings), []
    for feature in FEATURES:
        parts = feature.build(settings)
        assets += parts.get("assets", [])
        jobs += parts.get("jobs", [])
        schedules += parts.get("schedules", [])
        checks += parts.get("asset_checks", [])
    return Definitions(
        assets=assets, jobs=jobs, schedules=schedules, asset_checks=checks,
        resources={"sinc_config": settings_resource(settings), "trava_loja": lock_resource(settings)},
    )
