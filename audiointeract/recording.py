"""Recording a session's events: kept in a bounded ring, streamed to a JSONL file, or not at all.

A recorder is the session's own observer (``Session(recorder=...)``): it gets every
event after the session starts and is closed last. Recording is a choice:

* :class:`RingRecorder` (the default) keeps the newest ``capacity`` events in memory;
  ``capacity=None`` keeps all of them (for sessions of bounded length: tests, simulations).
* :class:`JsonlRecorder` writes each event as one JSONL line the moment it happens and
  flushes it, so a session that crashes leaves a valid trace up to the crash; nothing is
  kept in memory.
* :class:`NoRecording` records nothing (``Session.trace`` is then empty).

Reply audio samples are never kept: they reach observers, not the recording.
"""

from __future__ import annotations

import abc
import json
from collections import deque
from pathlib import Path
from typing import IO, Any

import attrs

from audiointeract.errors import ConfigurationError
from audiointeract.events import Event, ReplyAudio, event_to_dict
from audiointeract.interfaces import Observer
from audiointeract.trace import TRACE_VERSION, Trace, TraceRecord

__all__ = ["DEFAULT_CAPACITY", "JsonlRecorder", "NoRecording", "Recorder", "RingRecorder"]

DEFAULT_CAPACITY = 20_000
"""Events a session keeps by default: about an hour of audio at 0.4 s chunks."""


class Recorder(Observer):
    """An observer that records the session; :meth:`trace` gives back what it kept."""

    def start(self, meta: dict[str, Any]) -> None:
        """The session starts; ``meta`` describes it (sample rate, backends, tasks, ...)."""

    @abc.abstractmethod
    def trace(self) -> Trace:
        """What was recorded so far, as a trace."""


class NoRecording(Recorder):
    """Keeps nothing: for apps that watch events through observers or :meth:`Session.start` only."""

    def __init__(self) -> None:
        self._meta: dict[str, Any] = {}

    def start(self, meta: dict[str, Any]) -> None:
        self._meta = dict(meta)

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        pass

    def trace(self) -> Trace:
        return Trace(records=(), meta=self._meta)


class RingRecorder(Recorder):
    """Keeps the newest ``capacity`` events in memory (None: all); ``dropped`` counts the ones let go.

    Records keep their sequence numbers, so a trace cut by the ring shows where it starts.
    """

    def __init__(self, capacity: int | None = DEFAULT_CAPACITY) -> None:
        if capacity is not None and capacity < 1:
            raise ConfigurationError(f"RingRecorder capacity must be >= 1 (or None for no limit), got {capacity}")
        self.capacity = capacity
        self._records: deque[TraceRecord] = deque(maxlen=capacity)
        self._meta: dict[str, Any] = {}
        self._seen = 0

    @property
    def dropped(self) -> int:
        """Events recorded and then let go to stay within ``capacity``."""
        return self._seen - len(self._records)

    def start(self, meta: dict[str, Any]) -> None:
        self._meta = dict(meta)

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyAudio) and event.samples is not None:
            event = attrs.evolve(event, samples=None)
        self._records.append(TraceRecord(seq=self._seen, at=at, heard=heard, event=event))
        self._seen += 1

    def trace(self) -> Trace:
        meta = self._meta if not self.dropped else {**self._meta, "dropped_records": self.dropped}
        return Trace(records=self._records, meta=meta)


class JsonlRecorder(Recorder):
    """Streams every event to ``path`` as a flushed JSONL line; keeps nothing in memory.

    The file is opened when the recorder is built, so a path that cannot be written
    fails before the session starts. :meth:`trace` reads the file back. ``path`` may
    also be an open text stream (standard output, a socket): it is written and flushed,
    never closed, and cannot be read back (:meth:`trace` then holds the metadata only).
    """

    def __init__(self, path: str | Path | IO[str]) -> None:
        self.path: Path | None = None
        self._file: IO[str] | None = None
        if not isinstance(path, str | Path):
            self._file = path
        else:
            self.path = Path(path)
            try:
                self._file = self.path.open("w", encoding="utf-8")
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise ConfigurationError(f"cannot write the trace to {str(self.path)!r}: {reason}") from exc
        self._seen = 0
        self._started = False
        self._meta: dict[str, Any] = {}

    def start(self, meta: dict[str, Any]) -> None:
        self._meta = dict(meta)
        self._write({"trace_version": TRACE_VERSION, "meta": meta})
        self._started = True

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        self._write({"seq": self._seen, "at": at, "heard": heard, "event": event_to_dict(event)})
        self._seen += 1

    def trace(self) -> Trace:
        if self._file is not None:
            self._file.flush()
        if self.path is None:
            return Trace(records=(), meta=self._meta)
        return Trace.load(self.path)

    def close(self) -> None:
        if self._file is None:
            return
        if self.path is None:
            self._file.flush()
            self._file = None
            return
        self._file.close()
        self._file = None
        if not self._started:
            self.path.unlink(missing_ok=True)  # the session never started: leave no empty trace behind

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(record, sort_keys=True) + "\n")
        self._file.flush()
