"""sinc_pipeline: keeps a retail ERP's origin database and its stores' databases in step."""
from __future__ import annotations

__all__ = ["build_defs", "load_settings", "Settings"]


def __getattr__(name: str):
    if name == "build_defs":
        from sinc_pipeline.defs import build_defs
        return build_defs
    if name in ("load_settings", "Settings"):
        from sinc_pipeline import settings
        return getattr(settings, name)
    raise AttributeError(name)
