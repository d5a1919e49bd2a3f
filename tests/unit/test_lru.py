"""LruCache: the bound every cache in the package keeps."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.lru import LruCache


def test_entries_are_bounded_and_the_least_recently_used_go_first() -> None:
    cache: LruCache[str, int] = LruCache(3)
    for key, value in [("a", 1), ("b", 2), ("c", 3)]:
        cache.put(key, value)
    assert cache.get("a") == 1  # "a" is now the newest
    cache.put("d", 4)
    assert "b" not in cache
    assert [cache.get(k) for k in ("a", "c", "d")] == [1, 3, 4]
    for n in range(10_000):
        cache.put(f"k{n}", n)
    assert len(cache) == 3
    assert cache.get("k9999") == 9999
    assert cache.get("a") is None


def test_weight_is_bounded_too() -> None:
    cache: LruCache[int, np.ndarray] = LruCache(100, max_weight=1000, weigh=lambda a: a.nbytes)
    for n in range(50):
        cache.put(n, np.zeros(50, np.float32))  # 200 bytes each
        assert cache.weight <= 1000
    assert len(cache) == 5
    cache.put(99, np.zeros(1000, np.float32))  # heavier than the whole budget: not kept
    assert 99 not in cache
    assert len(cache) == 5
    cache.put(49, np.zeros(10, np.float32))  # replacing an entry re-weighs it
    assert cache.weight == 4 * 200 + 40
    cache.clear()
    assert (len(cache), cache.weight) == (0, 0)


def test_the_bound_holds_under_threads() -> None:
    cache: LruCache[int, int] = LruCache(64)

    def hammer(offset: int) -> None:
        for n in range(5_000):
            cache.put(offset + n, n)
            cache.get(offset + n // 2)

    threads = [threading.Thread(target=hammer, args=(k * 100_000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 64


@pytest.mark.parametrize(
    ("args", "options"),
    [((0,), {}), ((True,), {}), ((4,), {"max_weight": 10}), ((4,), {"max_weight": 0, "weigh": len})],
)
def test_bad_bounds_are_refused(args: tuple[int], options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="LruCache"):
        LruCache(*args, **options)  # type: ignore[arg-type]
