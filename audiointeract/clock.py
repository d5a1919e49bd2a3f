"""The one time source of the package.

Every read of time and every wait in audiointeract goes through a :class:`Clock`
(ruff bans ``time.*``, ``asyncio.sleep`` and friends everywhere else). The default
:class:`LoopClock` reads the running event loop's clock through anyio, so the same
code runs on real time in production and on virtual time under
:class:`audiointeract.simulators.VirtualTimeLoop` or trio's ``MockClock``.
"""

from __future__ import annotations

import abc
import math
from contextlib import AbstractContextManager

import anyio

__all__ = ["Clock", "LoopClock", "Stopwatch"]


class Clock(abc.ABC):
    """Reads the current time and waits; times are seconds on an arbitrary origin."""

    __slots__ = ()

    @abc.abstractmethod
    def now(self) -> float:
        """Current time in seconds. Only valid inside the running event loop."""

    @abc.abstractmethod
    async def sleep_until(self, deadline: float) -> None:
        """Wait until ``now() >= deadline``; returns at once for a past deadline."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a checkpoint even for 0)."""
        await self.sleep_until(self.now() + max(0.0, seconds))

    def deadline_scope(self, seconds: float | None) -> AbstractContextManager[anyio.CancelScope]:
        """A cancel scope that fails with :class:`TimeoutError` after ``seconds`` (None: never)."""
        if seconds is None:
            return anyio.CancelScope()
        return anyio.fail_after(seconds)


class LoopClock(Clock):
    """The event loop's own clock (anyio ``current_time``/``sleep_until``)."""

    __slots__ = ()

    def now(self) -> float:
        return anyio.current_time()

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep_until(deadline)


class Stopwatch:
    """Session-relative time: seconds since ``start()`` on a given clock."""

    __slots__ = ("_clock", "_origin")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._origin: float | None = None

    def start(self, at: float | None = None) -> None:
        """Set the origin to clock time ``at`` (an earlier moment), or to the clock's current time."""
        now = self._clock.now()
        if at is not None and not (math.isfinite(at) and at <= now):
            msg = f"a stopwatch starts at a finite time no later than now ({now}), got {at}"
            raise ValueError(msg)
        self._origin = now if at is None else at

    @property
    def clock(self) -> Clock:
        """The clock this stopwatch reads."""
        return self._clock

    def elapsed(self) -> float:
        """Seconds since :meth:`start`, rounded to the nanosecond so traces do not depend on the origin."""
        if self._origin is None:
            msg = "Stopwatch.elapsed() before start()"
            raise RuntimeError(msg)
        return round(self._clock.now() - self._origin, 9)

    async def sleep_until_elapsed(self, seconds: float) -> None:
        """Wait until ``elapsed() >= seconds``."""
        if self._origin is None:
            msg = "Stopwatch.sleep_until_elapsed() before start()"
            raise RuntimeError(msg)
        await self._clock.sleep_until(self._origin + seconds)
