"""What the tables sinc_pipeline owns (fiscal quarantine, stock audit) share: column types and clock.

Times are naive UTC with microseconds on every engine (MariaDB's DATETIME needs ``fsp=6``);
ids are 64-bit autoincrement (SQLite's autoincrement needs INTEGER).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def utcnow() -> dt.datetime:
    """Now, in UTC, without a time zone (how the owned tables store times)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
