"""Dagster entry point (workspace.yaml): ``defs`` built from the file named by SINC_CONFIG."""
from sinc_pipeline.settings import load_settings
from sinc_pipeline.defs import build_defs

defs = build_defs(load_settings())
