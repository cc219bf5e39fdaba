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
# A run whose process died (kill -9, a reboot) is marked failed instead of staying STARTED for
# ever (which would make every later tick skip its store); a run past its job's
# dagster/max_runtime tag (defs/tags.py) is ended. Schedule and sensor ticks are kept a few days.
MONITORING = """\
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  poll_interval_seconds: 60
retention:
  schedule:
    purge_after_days:
      skipped: 1
      success: 7
      failure: 30
  sensor:
    purge_after_days:
      skipped: 1
      success: 7
      failure: 30
"""
SECTIONS = (("python_logs:", PYTHON_LOGS), ("run_monitoring:", MONITORING))
HEADER = "# Written by sinc_pipeline."


def ensure_home(path: str | os.PathLike) -> Path:
    """Create the instance folder and its dagster.yaml if absent (a dagster.yaml this function
    wrote before gets the sections it lacks); point DAGSTER_HOME at it."""
    home = Path(path).resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML + "".join(text for _, text in SECTIONS), encoding="utf-8")
    else:
        text = cfg.read_text(encoding="utf-8")
        missing = [part for marker, part in SECTIONS if marker not in text]
        if text.startswith(HEADER) and missing:   # ours, from before those sections existed
            cfg.write_text(text.rstrip("\n") + "\n" + "".join(missing), encoding="utf-8")
    os.environ.setdefault("DAGSTER_HOME", str(home))
    return Path(os.environ["DAGSTER_HOME"])


def get_instance(path: str | os.PathLike):
    from dagster import DagsterInstance
    ensure_home(path)
    return DagsterInstance.get()
