"""A bounded least-recently-used cache, so that no cache the package keeps grows with the session's length."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from audiointeract.errors import ConfigurationError

__all__ = ["LruCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """Keeps at most ``max_entries`` values and, with ``weigh``, at most ``max_weight`` in total.

    Reading or writing an entry makes it the newest; the oldest go first when a bound
    is passed. A value heavier than ``max_weight`` on its own is not kept. Safe to share
    between threads.
    """

    def __init__(
        self, max_entries: int, *, max_weight: int | None = None, weigh: Callable[[V], int] | None = None
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError(f"LruCache: max_entries must be an int >= 1, got {max_entries!r}")
        if (max_weight is None) != (weigh is None):
            raise ConfigurationError("LruCache: give max_weight and weigh together (or neither)")
        if max_weight is not None and max_weight < 1:
            raise ConfigurationError(f"LruCache: max_weight must be >= 1, got {max_weight!r}")
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._weigh = weigh
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def weight(self) -> int:
        """Total weight of the values kept (0 without ``weigh``)."""
        return self._weight

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the newest entry), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` as the newest entry, dropping the oldest past the bounds."""
        weight = self._weigh(value) if self._weigh is not None else 0
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            if self.max_weight is not None and weight > self.max_weight:
                return
            self._entries[key] = (value, weight)
            self._weight += weight
            while len(self._entries) > self.max_entries or (
                self.max_weight is not None and self._weight > self.max_weight
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._weight = 0
