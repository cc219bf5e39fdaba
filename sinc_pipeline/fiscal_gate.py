"""Fiscal checks on send (placeholder until issue #4 lands): no gate."""
from __future__ import annotations


def gate_for_unit(settings, unit):
    return None
