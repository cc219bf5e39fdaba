"""Assemble the Definitions from the settings: the one place everything is wired."""
from __future__ import annotations

from dagster import Definitions

from ..config import Settings
from .jobs import build_sync_jobs
from .resources import lock_resource, settings_resource
from .schedules import build_schedules
from .sync_assets import build_sync_assets


def build_defs(settings: Settings) -> Definitions:
    return Definitions(
        assets=build_sync_assets(settings),
        jobs=build_sync_jobs(settings),
        schedules=build_schedules(settings),
        resources={"sinc_config": settings_resource(settings), "trava_loja": lock_resource(settings)},
    )
