"""Dagster wiring only: partitions, resources, asset factories, checks, jobs and schedules.

``build_defs(settings)`` assembles them; nothing here holds sync logic.
"""
from sinc_pipeline.defs.build import build_defs

__all__ = ["build_defs"]
