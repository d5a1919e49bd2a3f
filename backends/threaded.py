"""Run a blocking producer (model.generate, a TTS engine) in its own thread, consumed asynchronously.

:class:`ThreadedStream` starts ``produce(emit, stop)`` in a dedicated thread when its
``async with`` block is entered; ``async for`` yields each ``emit``-ted item on the event
loop. Leaving the block in any way (end, error, cancellation, ``aclose`` of the generator
around it) sets ``stop`` and waits, without blocking the loop, until the thread has
ended: no thread outlives the block. The producer must check ``stop`` often (e.g. once
per generated token) and return soon after it is set.

The thread wakes the loop through anyio's event-loop token only while the consumer is
waiting, so it works on asyncio, trio and the simulator's virtual-time loop. With
``offload=False`` the producer runs inline on entry (blocking the loop), which keeps
simulations on virtual time deterministic.

``niceness`` lowers the thread's scheduling priority (its nice value goes up by that much,
at most to 19), so on a busy CPU the threads that must keep real time (perception, the
event loop) run first. Linux gives each thread its own nice value; elsewhere the option
does nothing. The priority of the calling thread never changes, and the dedicated thread
ends with the block.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

from audiointeract.errors import ConfigurationError

__all__ = ["Produce", "ThreadedStream", "check_niceness"]

T = TypeVar("T")
Produce = Callable[[Callable[[T], None], threading.Event], None]


def check_niceness(owner: str, niceness: int) -> int:
    """``niceness`` if it is an int in [0, 19], else a ConfigurationError naming ``owner``."""
    if isinstance(niceness, bool) or not isinstance(niceness, int) or not 0 <= niceness <= 19:
        raise ConfigurationError(f"{owner}: niceness must be an int in [0, 19], got {niceness!r}")
    return niceness


def _lower_priority(niceness: int) -> None:
    """Raise the calling thread's nice value by ``niceness`` (Linux only: there each thread has its own)."""
    if niceness and sys.platform == "linux":
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness))


class ThreadedStream(Generic[T]):
    """Items of a producer running in a dedicated thread; see the module docstring."""

    def __init__(self, produce: Produce[T], *, name: str, offload: bool = True, niceness: int = 0) -> None:
        self._produce = produce
        self._name = name
        self._offload = offload
        self._niceness = check_niceness("ThreadedStream", niceness)
        self._items: deque[T] = deque()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._waiting = False
        self._error: BaseException | None = None
        self._ended = False
        self._thread: threading.Thread | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._wakeup: anyio.Event | None = None
        self._finished: anyio.Event | None = None

    @property
    def thread(self) -> threading.Thread | None:
        """The producer thread (None when running inline or not started)."""
        return self._thread

    async def __aenter__(self) -> ThreadedStream[T]:
        self._wakeup = anyio.Event()
        self._finished = anyio.Event()
        if not self._offload:
            try:
                self._produce(self._items.append, self._stop)
            except Exception as exc:  # noqa: BLE001 - re-raised to the consumer after the items
                self._error = exc
            self._ended = True
            self._finished.set()
            return self
        self._token = anyio.lowlevel.current_token()
        self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
        self._thread.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is None:
            return
        assert self._finished is not None
        with anyio.CancelScope(shield=True):
            await self._finished.wait()
        # the thread's last act was delivering the finish signal; it is returning now
        self._thread.join()

    def __aiter__(self) -> ThreadedStream[T]:
        return self

    async def __anext__(self) -> T:
        await anyio.lowlevel.checkpoint_if_cancelled()
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                if self._ended:
                    break
                self._wakeup = anyio.Event()
                self._waiting = True
                wakeup = self._wakeup
            await wakeup.wait()
        if self._error is not None:
            raise self._error
        raise StopAsyncIteration

    # ------------------------------------------------------------------ producer thread

    def _work(self) -> None:
        try:
            _lower_priority(self._niceness)
            self._produce(self._emit, self._stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._error = exc
        finally:
            self._call_loop(self._finish)

    def _emit(self, item: T) -> None:
        with self._lock:
            self._items.append(item)
            wake = self._waiting
            self._waiting = False
        if wake:
            self._call_loop(self._wake)

    def _call_loop(self, fn: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # RuntimeError: the event loop is gone; nobody is left to wake
            anyio.from_thread.run_sync(fn, token=self._token)

    # ------------------------------------------------------------------ on the event loop

    def _wake(self) -> None:
        assert self._wakeup is not None
        self._wakeup.set()

    def _finish(self) -> None:
        with self._lock:
            self._ended = True
        assert self._wakeup is not None
        assert self._finished is not None
        self._wakeup.set()
        self._finished.set()
