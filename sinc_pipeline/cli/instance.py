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
# The core's warnings (a slower read path, a column read as text) in the run's log: Dagster
# captures the Python loggers listed here during each step.
PYTHON_LOGS = """\
python_logs:
  managed_python_loggers:
    - sinc_pipeline
"""
HEADER = "# Written by sinc_pipeline."


def ensure_home(path: str | os.PathLike) -> Path:
    """Create the instance folder and its dagster.yaml if absent (a dagster.yaml this function
    wrote before gets the python_logs section it lacks); point DAGSTER_HOME at it."""
    home = Path(path).resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML + PYTHON_LOGS, encoding="utf-8")
    else:
        text = cfg.read_text(encoding="utf-8")
        if text.startswith(HEADER) and "python_logs:" not in text:   # ours, from before the section existed
            cfg.write_text(text.rstrip("\n") + "\n" + PYTHON_LOGS, encoding="utf-8")
    os.environ.setdefault("DAGSTER_HOME", str(home))
    return Path(os.environ["DAGSTER_HOME"])


def get_instance(path: str | os.PathLike):
    from dagster import DagsterInstance
    ensure_home(path)
    return DagsterInstance.get()
