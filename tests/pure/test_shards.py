"""A tick's stores split into shards: a store's shard follows its place in the config."""
from sinc_pipeline.core.shards import origin_share, split

ORDER = [f"loja_{i:02d}" for i in range(1, 8)]


def test_every_store_once_in_config_order_and_no_empty_shard():
    parts = split(ORDER, ORDER, 3)
    assert parts == [(1, ["loja_01", "loja_04", "loja_07"]), (2, ["loja_02", "loja_05"]), (3, ["loja_03", "loja_06"])]
    assert split(ORDER, ["loja_02", "loja_05"], 3) == [(2, ["loja_02", "loja_05"])]   # shards 1 and 3 left out
    assert split(ORDER, [], 3) == []


def test_a_store_keeps_its_shard_whatever_else_the_tick_asks_for():
    full = {s: n for n, part in split(ORDER, ORDER, 3) for s in part}
    some = {s: n for n, part in split(ORDER, list(reversed(ORDER[1:5])), 3) for s in part}
    assert all(full[s] == n for s, n in some.items()) and set(some) == set(ORDER[1:5])
    assert split(ORDER, ORDER, 1) == [(1, ORDER)]


def test_the_origin_limit_is_shared_between_the_shards_at_least_one_each():
    assert origin_share(4, 1) == 4
    assert origin_share(4, 2) == 2
    assert origin_share(4, 3) == 1
    assert origin_share(2, 8) == 1
