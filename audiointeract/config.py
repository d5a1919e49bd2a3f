"""Session configuration: one structured, validated object."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import Any, TypeVar

import attrs

from audiointeract.audio import AudioFormat
from audiointeract.echo import EchoConfig
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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (_is_number(value) and value >= 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be a number >= 0, got {value!r}")


def _optional_positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not (_is_number(value) and value > 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be a number > 0, got {value!r}")


def _whole(instance: object, attribute: attrs.Attribute[int], value: int, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigurationError(
            f"{type(instance).__name__}.{attribute.name} must be a whole number >= {least}, got {value!r}"
        )


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _whole(instance, attribute, value, 1)


def _non_negative_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _whole(instance, attribute, value, 0)


def _flag(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be True or False, got {value!r}")


def _of(kind: type) -> Any:
    """A validator: the value is a ``kind`` (an AudioFormat for ``audio``, ...)."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            owner = f"{type(instance).__name__}.{attribute.name}"
            raise ConfigurationError(f"{owner} must be of type {kind.__name__}, got {type(value).__name__}")

    return check


E = TypeVar("E", bound=enum.Enum)


def _choose(kind: type[E], value: object) -> E:
    """``value`` as a member of ``kind``; anything else names the choices."""
    try:
        return kind(value)
    except ValueError as exc:
        choices = ", ".join(repr(member.value) for member in kind)
        raise ConfigurationError(f"{kind.__name__} must be one of {choices}, got {value!r}") from exc


def _action(value: object) -> FailureAction:
    return _choose(FailureAction, value)


def _mode(value: object) -> DecisionMode:
    return _choose(DecisionMode, value)


def _pacing(value: object) -> Pacing:
    return _choose(Pacing, value)


def _overflow(value: object) -> Overflow:
    return _choose(Overflow, value)


def _tasks(items: Iterable[StandingTask]) -> tuple[StandingTask, ...]:
    given: object = items
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ConfigurationError(f"tasks must be a list of StandingTask, got {type(given).__name__}")
    tasks = tuple(items)
    if not all(isinstance(task, StandingTask) for task in tasks):
        raise ConfigurationError(f"tasks must be a list of StandingTask, got {tasks!r}")
    return tasks


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

    max_retries: int = attrs.field(default=2, validator=_non_negative_int)
    backoff: float = attrs.field(default=0.05, validator=_non_negative)
    timeout: float | None = attrs.field(default=None, validator=_optional_positive)
    deadline: float | None = attrs.field(default=30.0, validator=_optional_positive)
    first_output_timeout: float | None = attrs.field(default=None, validator=_optional_positive)
    on_exhausted: FailureAction = attrs.field(default=FailureAction.SKIP, converter=_action)


def _phrases(value: Iterable[str]) -> tuple[str, ...]:
    given: object = value
    if isinstance(given, str) or not isinstance(given, Iterable):
        raise ConfigurationError(f"backchannel phrases must be a list of non-empty strings, got {given!r}")
    return tuple(value)


def _responder_failure() -> FailurePolicy:
    return FailurePolicy(max_retries=1, first_output_timeout=10.0, deadline=20.0)


@attrs.frozen(kw_only=True)
class BackchannelConfig:
    """What a BACKCHANNEL decision says.

    The phrases are used in turn, each synthesised once in the responder's voice and
    cached; ``TurnConfig.allow_backchannel`` turns backchannels off.
    """

    phrases: tuple[str, ...] = attrs.field(default=("mm-hm", "okay"), converter=_phrases)

    @phrases.validator
    def _check_phrases(self, _: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
        if not value or any(not isinstance(p, str) or not p.strip() for p in value):
            raise ConfigurationError(f"backchannel phrases must be one or more non-empty strings, got {value!r}")


@attrs.frozen(kw_only=True)
class SessionConfig:
    """Everything that shapes a session's behaviour, validated on construction."""

    audio: AudioFormat = attrs.field(factory=AudioFormat, validator=_of(AudioFormat))
    tasks: tuple[StandingTask, ...] = attrs.field(default=DEFAULT_TASKS, converter=_tasks)
    decision_mode: DecisionMode = attrs.field(default=DecisionMode.DRAIN, converter=_mode)
    half_duplex: bool = attrs.field(default=False, validator=_flag)
    """If true, no decision is made while a reply is in flight (the paper's scheduler)."""
    pacing: Pacing = attrs.field(default=Pacing.REALTIME, converter=_pacing)
    allow_resample: bool = attrs.field(default=True, validator=_flag)
    chunk_queue: int = attrs.field(default=32, validator=_positive_int)
    chunk_overflow: Overflow = attrs.field(default=Overflow.DROP_OLDEST, converter=_overflow)
    decision_queue: int = attrs.field(default=256, validator=_positive_int)
    perceiver_failure: FailurePolicy = attrs.field(factory=FailurePolicy, validator=_of(FailurePolicy))
    decider_failure: FailurePolicy = attrs.field(factory=FailurePolicy, validator=_of(FailurePolicy))
    responder_failure: FailurePolicy = attrs.field(factory=_responder_failure, validator=_of(FailurePolicy))
    turn: TurnConfig = attrs.field(factory=TurnConfig, validator=_of(TurnConfig))
    backchannel: BackchannelConfig = attrs.field(factory=BackchannelConfig, validator=_of(BackchannelConfig))
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
    echo: EchoConfig | None = attrs.field(factory=EchoConfig)
    """Remove the agent's own voice from the microphone before perception, using what it played as the
    reference (:mod:`audiointeract.echo`); with ``Pacing.REALTIME`` only. None turns it off."""
    stop_grace: float = attrs.field(default=1.0, validator=_non_negative)
    """After :meth:`Session.stop`, seconds the loop may take to decide what was heard before it is cut short."""

    @audio_block_seconds.validator
    def _check_block(self, _: attrs.Attribute[float], value: float) -> None:
        if not (_is_number(value) and 0.01 <= value <= 1.0):
            raise ConfigurationError(f"audio_block_seconds={value} is outside [0.01, 1.0] s")

    @tasks.validator
    def _check_tasks(self, _: attrs.Attribute[tuple[StandingTask, ...]], value: tuple[StandingTask, ...]) -> None:
        names = [task.name for task in value]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"standing task names must be unique, got {names}")
