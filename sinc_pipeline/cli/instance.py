"""The persistent Dagster instance under ``data/`` (what ``dagster dev`` shows afterwards)."""
from __future__ import annotations

import os
from pathlib import Path

DAGSTER_YAML = """\
# Written by sinc_pipeline. One sync run per store at a time: runs of the same partition
# (store) wait in the queue instead of overlapping.
concurrency:
  runs:
    tag_concurrency_limits:
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
telemetry:
  enabled: false
"""


def ensure_home(path: str | os.PathLike) -> Path:
    """Create the instance folder and its dagster.yaml if absent; point DAGSTER_HOME at it."""
    home = Path(path).resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ.setdefault("DAGSTER_HOME", str(home))
    return Path(os.environ["DAGSTER_HOME"])


def get_instance(path: str | os.PathLike):
    from dagster import DagsterInstance
    ensure_home(path)
    return DagsterInstance.get()
