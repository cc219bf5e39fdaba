"""Settings: the configuration file's models, its loading and its validation (``sinc.yaml``).

One YAML file, path from ``SINC_CONFIG`` (default ``data/sinc.yaml``). ``load_settings`` parses,
expands ``${VAR}`` in URLs from the environment and validates everything that can be checked
without touching a database. Every problem is reported at once, each naming the field path,
the value and a hint (``ConfigError``). What needs a database (tables and columns that exist)
is checked at run time by ``core/layout.py``, before anything is written.
"""
from __future__ import annotations

from sinc_pipeline.settings.loading import expand_env, load_settings, parse_settings
from sinc_pipeline.settings.models import (DEFAULT_CONFIG_PATH, DatabaseConfig, FiscalColumns, FiscalConfig, Intervals,
                                           Settings, SnapshotsConfig, StockConfig, StoreConfig, TableConfig)
from sinc_pipeline.settings.validation import semantic_problems

__all__ = ["DEFAULT_CONFIG_PATH", "DatabaseConfig", "FiscalColumns", "FiscalConfig", "Intervals", "Settings",
           "SnapshotsConfig", "StockConfig", "StoreConfig", "TableConfig", "expand_env", "load_settings",
           "parse_settings", "semantic_problems"]
