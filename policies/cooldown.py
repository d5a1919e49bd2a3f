"""Cooldowns on stream time, per key: the one helper behind re-arming, refractory periods and rate limits."""

from __future__ import annotations

import math
from collections.abc import Hashable

from audiointeract.errors import ConfigurationError
from audiointeract.lru import LruCache
from audiointeract.policies._options import EPS

__all__ = ["Cooldown"]


class Cooldown:
    """Remembers when each key was last noted; the key is ready again ``period`` s of stream later.

    A key never noted is ready, and with ``period`` 0 every key always is. Times are
    compared with the policies' tolerance for summed chunk times. Only the newest
    ``max_keys`` keys are remembered (a forgotten key is ready), so free-text sound
    labels cannot grow it without bound.
    """

    def __init__(self, period: float, *, max_keys: int = 256) -> None:
        if isinstance(period, bool) or not isinstance(period, int | float) or not math.isfinite(period) or period < 0:
            raise ConfigurationError(f"Cooldown: period must be a finite number >= 0, got {period!r}")
        self.period = float(period)
        self._last: LruCache[Hashable, float] = LruCache(max_keys)

    def ready(self, key: Hashable, at: float) -> bool:
        """Whether ``key`` may fire at stream time ``at``."""
        return self.cooling_since(key, at) is None

    def cooling_since(self, key: Hashable, at: float) -> float | None:
        """When ``key`` was last noted if its period has not passed by ``at``; None when it is ready."""
        last = self._last.get(key) if self.period > 0 else None
        return last if last is not None and at - last + EPS < self.period else None

    def note(self, key: Hashable, at: float) -> None:
        """``key`` fired (or was seen) at stream time ``at``: its period starts again."""
        if self.period > 0:
            self._last.put(key, at)

    def clear(self) -> None:
        """Forget every key."""
        self._last.clear()

    def __len__(self) -> int:
        return len(self._last)
