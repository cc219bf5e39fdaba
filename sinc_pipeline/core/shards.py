"""A tick's stores split into shards (pure; no Dagster).

A store's shard depends only on its place in the config (``index % shards``), not on which
stores a tick asks for: a store skipped by one tick (busy) does not move the others to other
shards, so a store always lands in the same shard while the config is the same. Empty shards
are left out. The origin's limit (``tick.origin_connections``) is for the whole tick: each shard
gets its part of it, at least one.
"""
from __future__ import annotations


def split(config_order: list[str], wanted: list[str], shards: int) -> list[tuple[int, list[str]]]:
    """``[(shard number from 1, its stores in config order), ...]`` for the non-empty shards."""
    if shards < 1:
        raise ValueError(shards)
    wanted_set = set(wanted)
    out: dict[int, list[str]] = {}
    for i, store in enumerate(config_order):
        if store in wanted_set:
            out.setdefault(i % shards + 1, []).append(store)
    return sorted(out.items())


def origin_share(origin_connections: int, shards: int) -> int:
    """Each shard's part of the origin's limit: the limit divided evenly, at least 1."""
    return max(1, origin_connections // max(1, shards))
