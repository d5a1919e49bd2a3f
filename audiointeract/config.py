"""Session configuration: one structured, validated object."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import Any

import attrs

from audiointeract.audio import AudioFormat
from audiointeract.errors import ConfigurationError
from audiointeract.events import StandingTask
from audiointeract.queues import Overflow
from audiointeract.turns import TurnConfig

__all__ = [
    "DEFAULT_TASKS",
    "BackchannelConfig",
    "DecisionMode",
    "FailureAction",
    "FailurePolicy",
    "Pacing",
    "SessionConfig",
]

DEFAULT_TASKS = (
    StandingTask(name="answer", instruction="Answer questions and requests addressed to you."),
)


class DecisionMode(enum.Enum):
    """How perceptions reach the decider."""

    DRAIN = "drain"
    """At each decision point, every pending perception goes into one decision (the paper's FIFO)."""
    PER_CHUNK = "per_chunk"
    """One decision per perceived chunk, in order, however far behind that falls."""


class Pacing(enum.Enum):
    """How fast the source's audio enters the session."""

    REALTIME = "realtime"
    """Each chunk enters when its last sample would have been heard (stream time = session time)."""
    FAST = "fast"
    """As fast as the session takes it, in lock-step: the next chunk enters once the previous
    one has been decided on (files, batch evaluation)."""


class FailureAction(enum.Enum):
    """What to do when a backend call failed and no retry is left."""

    SKIP = "skip"
    STOP = "stop"


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be >= 0, got {value}")


def _optional_positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be > 0, got {value}")


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be >= 1, got {value}")


def _tasks(items: Iterable[StandingTask]) -> tuple[StandingTask, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class FailurePolicy:
    """Retry retryable failures with exponential backoff, then skip or stop.

    ``timeout`` bounds each attempt (None: no bound); a timeout counts as a retryable
    :class:`~audiointeract.errors.BackendTimeout`. ``deadline`` bounds one call with all
    its attempts and backoff waits together (for a reply: the time until its first
    output). ``first_output_timeout`` bounds, for a reply, each attempt's wait for its
    first text or audio. Every retry is reported as a ``BackendErrorEvent`` with
    ``handling="retry"`` before it happens.
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    backoff: float = attrs.field(default=0.05, validator=_non_negative)
    timeout: float | None = attrs.field(default=None, validator=_optional_positive)
    deadline: float | None = attrs.field(default=30.0, validator=_optional_positive)
    first_output_timeout: float | None = attrs.field(default=None, validator=_optional_positive)
    on_exhausted: FailureAction = attrs.field(default=FailureAction.SKIP, converter=FailureAction)


def _responder_failure() -> FailurePolicy:
    return FailurePolicy(max_retries=1, first_output_timeout=10.0, deadline=20.0)


@attrs.frozen(kw_only=True)
class BackchannelConfig:
    """What a BACKCHANNEL decision says.

    The phrases are used in turn, each synthesised once in the responder's voice and
    cached; ``TurnConfig.allow_backchannel`` turns backchannels off.
    """

    phrases: tuple[str, ...] = attrs.field(default=("mm-hm", "okay"), converter=tuple)

    @phrases.validator
    def _check_phrases(self, _: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
        if not value or any(not isinstance(p, str) or not p.strip() for p in value):
            raise ConfigurationError(f"backchannel phrases must be one or more non-empty strings, got {value!r}")


@attrs.frozen(kw_only=True)
class SessionConfig:
    """Everything that shapes a session's behaviour, validated on construction."""

    audio: AudioFormat = attrs.field(factory=AudioFormat)
    tasks: tuple[StandingTask, ...] = attrs.field(default=DEFAULT_TASKS, converter=_tasks)
    decision_mode: DecisionMode = attrs.field(default=DecisionMode.DRAIN, converter=DecisionMode)
    half_duplex: bool = False
    """If true, no decision is made while a reply is in flight (the paper's scheduler)."""
    pacing: Pacing = attrs.field(default=Pacing.REALTIME, converter=Pacing)
    allow_resample: bool = True
    chunk_queue: int = attrs.field(default=32, validator=_positive_int)
    chunk_overflow: Overflow = attrs.field(default=Overflow.DROP_OLDEST, converter=Overflow)
    decision_queue: int = attrs.field(default=256, validator=_positive_int)
    perceiver_failure: FailurePolicy = attrs.field(factory=FailurePolicy)
    decider_failure: FailurePolicy = attrs.field(factory=FailurePolicy)
    responder_failure: FailurePolicy = attrs.field(factory=_responder_failure)
    turn: TurnConfig = attrs.field(factory=TurnConfig)
    backchannel: BackchannelConfig = attrs.field(factory=BackchannelConfig)
    transcript_chars: int = attrs.field(default=4000, validator=_positive_int)
    history_turns: int = attrs.field(default=12, validator=_positive_int)
    request_audio_seconds: float = attrs.field(default=0.0, validator=_non_negative)
    """Seconds of recent audio attached to each reply request (for audio-LLM responders)."""
    event_buffer: int = attrs.field(default=8192, validator=_positive_int)
    audio_block_seconds: float = attrs.field(default=0.1, validator=_non_negative)
    """Reply audio is emitted in blocks this long at their play time; a barge-in cuts within one block."""
    speculate: bool = True
    """Start writing a reply when a decider prepares it (``Decision.preparing``), holding its
    output until the RESPOND: the first words are ready sooner. Nothing is heard before the RESPOND."""
    stop_grace: float = attrs.field(default=1.0, validator=_non_negative)
    """After :meth:`Session.stop`, seconds the loop may take to decide what was heard before it is cut short."""

    @audio_block_seconds.validator
    def _check_block(self, _: attrs.Attribute[float], value: float) -> None:
        if not 0.01 <= value <= 1.0:
            raise ConfigurationError(f"audio_block_seconds={value} is outside [0.01, 1.0] s")

    @tasks.validator
    def _check_tasks(self, _: attrs.Attribute[tuple[StandingTask, ...]], value: tuple[StandingTask, ...]) -> None:
        names = [task.name for task in value]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"standing task names must be unique, got {names}")
