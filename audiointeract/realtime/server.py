"""The server's limits, its close codes, and what it counts across sessions."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from pathlib import Path

import attrs

from audiointeract.config import SessionConfig
from audiointeract.errors import ConfigurationError
from audiointeract.events import SessionEnded
from audiointeract.realtime.source import PushSource, PushStatistics
from audiointeract.session import Session, SessionStatistics
from audiointeract.trace import Trace

__all__ = ["CloseCode", "ServerConfig", "ServerState", "ServerStatistics", "SessionSummary"]


class CloseCode(enum.IntEnum):
    """Websocket close codes the server uses (the protocol docs list when)."""

    NORMAL = 1000
    MESSAGE_TOO_BIG = 1009
    """A frame over ``max_message_bytes`` (closed by the websocket layer)."""
    SESSION_FAILED = 1011
    """The session stopped on a backend failure, or could not start."""
    TRY_AGAIN_LATER = 1013
    """``max_sessions`` sessions are running; try again later."""
    IDLE_TIMEOUT = 4408
    """No event from the client for ``idle_timeout`` seconds."""


def _at_least(least: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    """A whole number >= ``least``, else one ConfigurationError naming the field."""

    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigurationError(
                f"{type(instance).__name__}.{attribute.name} must be a whole number >= {least}, got {value!r}"
            )

    return check


def _positive(instance: object, attribute: attrs.Attribute[float], value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be > 0, got {value}")


@attrs.frozen(kw_only=True)
class SessionSummary:
    """One ended session: how it ended, its statistics, what happened to the client's audio, and its trace."""

    session_id: str
    session: Session = attrs.field(repr=False)
    statistics: SessionStatistics
    audio: PushStatistics

    @property
    def ended(self) -> SessionEnded | None:
        """The session's end event."""
        return self.session.ended

    @property
    def trace(self) -> Trace:
        """What the session recorded (a trace streamed to a file is read back from it)."""
        return self.session.trace


@attrs.frozen(kw_only=True)
class ServerConfig:
    """Limits and per-session settings of a realtime server (every field is documented in the protocol docs)."""

    session: SessionConfig = attrs.field(factory=SessionConfig)
    """The base of every session's configuration (the client may set its standing tasks)."""
    api_key: str | None = None
    """If set, every connection must present it as a bearer token."""
    max_sessions: int = attrs.field(default=16, validator=_at_least(1))
    idle_timeout: float = attrs.field(default=60.0, validator=_positive)
    max_message_bytes: int = attrs.field(default=1 << 20, validator=_at_least(1024))
    max_buffered_seconds: float = attrs.field(default=10.0, validator=_positive)
    fill_after: float | None = attrs.field(default=1.0, validator=_positive)
    trace_dir: Path | None = None
    """Stream each session's trace to ``<trace_dir>/<session id>.jsonl`` as it happens."""
    on_session_end: Callable[[SessionSummary], None] | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class ServerStatistics:
    """Counters over every session the server ran (live ones included)."""

    active_sessions: int
    max_sessions: int
    sessions_served: int
    sessions_refused: int
    max_perceiver_lag: float
    audio_received_seconds: float
    audio_dropped_seconds: float
    audio_filled_seconds: float
    chunks_dropped: int
    events_dropped: int


class ServerState:
    """Admission (``max_sessions``) and the counters behind :class:`ServerStatistics`."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._admitted: set[str] = set()
        self._live: dict[str, tuple[Session, PushSource]] = {}
        self._next = 0
        self._refused = 0
        self._totals = _Totals()

    def admit(self) -> str | None:
        """A new session id, or None when ``max_sessions`` sessions are running."""
        if len(self._admitted) >= self._config.max_sessions:
            self._refused += 1
            return None
        self._next += 1
        session_id = f"sess_{self._next}"
        self._admitted.add(session_id)
        return session_id

    def release(self, session_id: str) -> None:
        """The connection ``session_id`` is over."""
        self._admitted.discard(session_id)

    def session_started(self, session_id: str, session: Session, source: PushSource) -> None:
        """A connection's session is running."""
        self._live[session_id] = (session, source)

    def session_ended(self, session_id: str, session: Session, source: PushSource) -> None:
        """Count an ended session and hand its summary to ``on_session_end``."""
        self._live.pop(session_id, None)
        self._totals.add(session.statistics(), source.statistics())
        if self._config.on_session_end is not None:
            self._config.on_session_end(SessionSummary(session_id=session_id, session=session,
                                                       statistics=session.statistics(), audio=source.statistics()))

    def statistics(self) -> ServerStatistics:
        """The counters now."""
        totals = attrs.evolve(self._totals)
        for session, source in self._live.values():
            totals.add(session.statistics(), source.statistics())
        return ServerStatistics(
            active_sessions=len(self._admitted),
            max_sessions=self._config.max_sessions,
            sessions_served=self._next,
            sessions_refused=self._refused,
            max_perceiver_lag=totals.max_perceiver_lag,
            audio_received_seconds=totals.received,
            audio_dropped_seconds=totals.dropped,
            audio_filled_seconds=totals.filled,
            chunks_dropped=totals.chunks_dropped,
            events_dropped=totals.events_dropped,
        )


@attrs.define
class _Totals:
    max_perceiver_lag: float = 0.0
    received: float = 0.0
    dropped: float = 0.0
    filled: float = 0.0
    chunks_dropped: int = 0
    events_dropped: int = 0

    def add(self, stats: SessionStatistics, audio: PushStatistics) -> None:
        self.max_perceiver_lag = max(self.max_perceiver_lag, stats.max_perceiver_lag)
        self.received += audio.received
        self.dropped += audio.dropped
        self.filled += audio.filled
        self.chunks_dropped += stats.chunk_queue.dropped
        self.events_dropped += stats.events_dropped
