"""Errors a user can cause, each naming the thing, the value and a hint.

    SincError                  base of everything sinc_pipeline raises on purpose
    ├── ConfigError            the YAML file is invalid (carries every problem found)
    ├── SchemaError            a table/column named by the config is missing in a database
    ├── DatabaseUnreachable    a database could not be reached (URL shown without password)
    ├── DataError              the data itself is wrong (duplicate keys, bad values)
    └── LockedError            another run for the same store is in progress

Messages are in pt-BR: they are what the data team reads in the Dagster UI.
"""
from __future__ import annotations


class SincError(Exception):
    """Base class; ``str(err)`` is the full user-facing message."""


class ConfigError(SincError):
    def __init__(self, problems: list[str], source: str = "configuração"):
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Configuração inválida ({source}): {len(problems)} erro(s)\n{lines}")


class SchemaError(SincError):
    pass


class DatabaseUnreachable(SincError):
    pass


class DataError(SincError):
    pass


class LockedError(SincError):
    pass
