"""Placeholder: filled in by its issue."""


def build(settings) -> dict:
    return {"assets": [], "jobs": [], "schedules": [], "asset_checks": []}
