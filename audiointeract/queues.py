"""A bounded FIFO with an explicit overflow policy and counters.

anyio's memory streams block or fail when full; a live audio session also needs
"drop the oldest and count it", so this small queue offers all three.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

import anyio
import attrs

from audiointeract.errors import ConfigurationError, QueueOverflowError

__all__ = ["BoundedQueue", "Overflow", "QueueStatistics"]

T = TypeVar("T")


class Overflow(enum.Enum):
    """What a full queue does with a new item."""

    BLOCK = "block"
    """The producer waits for room (only for sources that can wait, e.g. files)."""
    DROP_OLDEST = "drop_oldest"
    """The oldest item is dropped and counted; the producer never waits."""
    FAIL = "fail"
    """:class:`~audiointeract.errors.QueueOverflowError` is raised."""


@attrs.frozen(kw_only=True)
class QueueStatistics:
    """A snapshot of one queue."""

    capacity: int
    depth: int
    max_depth: int
    put: int
    dropped: int


class BoundedQueue(Generic[T]):
    """FIFO of at most ``capacity`` items; single consumer; :meth:`close` marks the end."""

    def __init__(self, capacity: int, overflow: Overflow, *, name: str = "queue") -> None:
        if capacity < 1:
            raise ConfigurationError(f"{name} capacity must be >= 1, got {capacity}")
        self._name = name
        self._capacity = capacity
        self._overflow = overflow
        self._items: deque[T] = deque()
        self._has_items = anyio.Event()
        self._has_room = anyio.Event()
        self._has_room.set()
        self._put = 0
        self._dropped = 0
        self._max_depth = 0
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: T, *, on_drop: Callable[[T], None] | None = None) -> None:
        """Add ``item``, applying the overflow policy; ``on_drop`` sees each dropped item."""
        while len(self._items) >= self._capacity:
            if self._overflow is Overflow.FAIL:
                raise QueueOverflowError(f"{self._name} is full ({self._capacity} items)")
            if self._overflow is Overflow.DROP_OLDEST:
                dropped = self._items.popleft()
                self._dropped += 1
                if on_drop is not None:
                    on_drop(dropped)
                break
            self._has_room = anyio.Event()
            await self._has_room.wait()
        self.put_unbounded(item)

    def put_unbounded(self, item: T) -> None:
        """Add ``item`` ignoring capacity (for a final flush that must not be lost)."""
        if self._closed:
            raise QueueOverflowError(f"{self._name} is closed")
        self._items.append(item)
        self._put += 1
        self._max_depth = max(self._max_depth, len(self._items))
        self._has_items.set()

    def close(self) -> None:
        """No more items will come; consumers get what is queued, then the end."""
        self._closed = True
        self._has_items.set()

    async def get(self) -> T | None:
        """Remove and return the oldest item, waiting for one; None once closed and empty."""
        if not await self._wait_items():
            return None
        item = self._items.popleft()
        self._after_take()
        return item

    async def get_all(self) -> list[T]:
        """Remove and return every queued item, waiting for the first; [] once closed and empty."""
        if not await self._wait_items():
            return []
        items = list(self._items)
        self._items.clear()
        self._after_take()
        return items

    def statistics(self) -> QueueStatistics:
        """Current depth, high-water mark and counters."""
        return QueueStatistics(
            capacity=self._capacity,
            depth=len(self._items),
            max_depth=self._max_depth,
            put=self._put,
            dropped=self._dropped,
        )

    async def _wait_items(self) -> bool:
        while not self._items:
            if self._closed:
                return False
            self._has_items = anyio.Event()
            await self._has_items.wait()
        return True

    def _after_take(self) -> None:
        self._has_room.set()
