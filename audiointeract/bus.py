"""The event bus: every session event goes, in order, to the recorder, the observers and the event streams.

Observers are called synchronously and must not block. One that raises is detached
and the failure reported as an event; the session never dies of it. At the end every
observer is closed, the recorder last, and one failing ``close()`` never skips the
others (failures are logged on the ``audiointeract`` logger and counted).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence

import anyio

from audiointeract.events import Event
from audiointeract.interfaces import Observer
from audiointeract.recording import Recorder

__all__ = ["EventBus", "EventStream"]

logger = logging.getLogger("audiointeract")


class EventStream:
    """Async iterator over a running session's events.

    Bounded: a reader more than ``capacity`` events behind loses the oldest ones,
    counted in :attr:`dropped`; the session never waits for a slow reader.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: deque[Event] = deque()
        self._closed = False
        self._wakeup = anyio.Event()
        self.dropped = 0

    def push(self, event: Event) -> None:
        """Hand ``event`` to the reader (the session calls this)."""
        if len(self._items) >= self._capacity:
            self._items.popleft()
            self.dropped += 1
        self._items.append(event)
        self._wakeup.set()

    def close(self) -> None:
        """No more events will come (the session calls this at its end)."""
        self._closed = True
        self._wakeup.set()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup = anyio.Event()
            await self._wakeup.wait()
        return self._items.popleft()


class EventBus:
    """Fans events out; ``on_observer_error(observer, error)`` hears of an observer that raised."""

    def __init__(
        self,
        recorder: Recorder | None,
        observers: Sequence[Observer],
        *,
        on_observer_error: Callable[[Observer, Exception], None],
    ) -> None:
        self.recorder = recorder
        self._observers = list(observers)
        self._streams: list[EventStream] = []
        self._on_observer_error = on_observer_error
        self.close_failures = 0

    def subscribe(self, observer: Observer) -> None:
        """Add an observer; it sees every later event."""
        self._observers.append(observer)

    def open_stream(self, capacity: int) -> EventStream:
        """A new bounded stream of every later event."""
        stream = EventStream(capacity)
        self._streams.append(stream)
        return stream

    @property
    def events_dropped(self) -> int:
        """Events lost by slow stream readers, over all streams."""
        return sum(stream.dropped for stream in self._streams)

    def emit(self, event: Event, *, at: float, heard: float) -> None:
        """Deliver ``event`` (session time ``at``, stream time ``heard``) to everyone, in order."""
        if self.recorder is not None:
            self.recorder.on_event(event, at=at, heard=heard)
        for observer in list(self._observers):
            try:
                observer.on_event(event, at=at, heard=heard)
            except Exception as exc:  # noqa: BLE001 - a broken observer must not kill the session
                self._observers.remove(observer)
                self._on_observer_error(observer, exc)
        for stream in self._streams:
            stream.push(event)

    def close(self) -> None:
        """Close every observer, then the recorder, then the streams; no failure skips the rest."""
        closing: list[Observer] = [*self._observers, *([self.recorder] if self.recorder is not None else [])]
        for observer in closing:
            try:
                observer.close()
            except Exception:
                self.close_failures += 1
                logger.exception("observer %s failed to close", type(observer).__name__)
        for stream in self._streams:
            stream.close()
