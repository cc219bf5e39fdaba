"""The sync feature's Definitions: one asset per table, one multi-asset per direction (``sync_assets.py``), the three jobs the
data team launches (``jobs.py``) and their schedules (``schedules.py``)."""
from __future__ import annotations

from dagster import Definitions

from sinc_pipeline.settings import Settings
from sinc_pipeline.defs.jobs import build_sync_jobs
from sinc_pipeline.defs.schedules import build_schedules
from sinc_pipeline.defs.sync_assets import build_sync_assets


def build(settings: Settings) -> Definitions:
    return Definitions(assets=build_sync_assets(settings), jobs=build_sync_jobs(settings),
                       schedules=build_schedules(settings))
