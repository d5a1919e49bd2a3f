"""Virtual time for the real session loop: an asyncio event loop whose clock jumps.

:class:`VirtualTimeLoop` is a normal asyncio selector loop with one change: when
nothing is ready and the next timer lies in the future, it moves its clock straight
to that timer instead of sleeping. anyio (``current_time``, ``sleep``,
``fail_after``) and therefore the session read this clock, so a one-hour session
with mock backends runs in seconds, timers fire in a fixed order, and same inputs
give the same trace. Ready callbacks run in FIFO order, which makes scheduling
deterministic.

Work done in threads takes no virtual time (the clock does not wait for threads
unless nothing else is scheduled); model compute cost explicitly with
:mod:`audiointeract.simulators.compute`.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio

__all__ = ["VirtualTimeLoop", "run_virtual", "virtual_backend_options"]

T = TypeVar("T")


class _JumpingSelector(selectors.BaseSelector):
    """Delegates to a real selector but turns a timed wait into a clock jump."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # nothing scheduled: only a thread or real I/O can wake us, so wait for it
            return self._real.select(None)
        self._loop.advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on virtual time, starting at ``start`` seconds."""

    def __init__(self, start: float = 0.0) -> None:
        super().__init__(selector=_JumpingSelector(self))
        self._virtual_now = float(start)

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            msg = "time can't go backwards"
            raise ValueError(msg)
        self._virtual_now += seconds


def virtual_backend_options() -> dict[str, Any]:
    """``backend_options`` for ``anyio.run``/the anyio pytest plugin to use virtual time."""
    return {"loop_factory": VirtualTimeLoop}


def run_virtual(fn: Callable[..., Awaitable[T]], *args: object) -> T:
    """Run ``fn(*args)`` under anyio on a fresh :class:`VirtualTimeLoop`."""
    return anyio.run(fn, *args, backend="asyncio", backend_options=virtual_backend_options())
