"""Value types that flow through a session: perceptions, decisions, replies, session events.

All are frozen, slotted, keyword-only attrs classes with validators, so a value that
exists is a valid one. Times are seconds: *stream time* counts audio from the first
sample (``span_start``/``span_end``, ``heard_until``); *session time* is the session
clock since the session started (``emitted_at``, ``decided_at``, ``at``). Ids come from
the session, never from process-wide counters, so traces are reproducible.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import Any, ClassVar, TypeAlias

import attrs
import numpy as np

from audiointeract.audio import FloatArray
from audiointeract.errors import AudioFormatError, ConfigurationError

__all__ = [
    "NORMAL_ENDINGS",
    "Action",
    "AudioDelta",
    "AudioReceived",
    "BackchannelEnded",
    "BackchannelStarted",
    "BackendErrorEvent",
    "ChunkDropped",
    "Decision",
    "DecisionIgnored",
    "Event",
    "InputWarning",
    "Perception",
    "ReplyAudio",
    "ReplyCancelled",
    "ReplyFailed",
    "ReplyFinished",
    "ReplyPaused",
    "ReplyResumed",
    "ReplyStarted",
    "ReplyText",
    "ResponseDelta",
    "ResponseRequest",
    "SessionEnded",
    "SoundEvent",
    "SpeculationEnded",
    "SpeculationStarted",
    "SpeechActivity",
    "StandingTask",
    "TextDelta",
    "TranscriptUpdate",
    "Turn",
    "TurnEndEstimate",
    "Word",
    "event_from_dict",
    "event_to_dict",
]

_KINDS: dict[str, type[Any]] = {}


def _register(cls: type[Any]) -> type[Any]:
    kind = cls.__dict__.get("kind")
    if not isinstance(kind, str):
        msg = f"{cls.__name__} needs a 'kind' class variable"
        raise TypeError(msg)
    _KINDS[kind] = cls
    return cls


def _finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be finite, got {value}")


def _optional_finite(instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be finite, got {value}")


def _unit_interval(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigurationError(
            f"{type(instance).__name__}.{attribute.name} must be a finite value in [0, 1], got {value}"
        )


def _check_span(instance: Any) -> None:
    if instance.span_start < 0 or instance.span_end < instance.span_start:
        raise ConfigurationError(
            f"{type(instance).__name__} span [{instance.span_start}, {instance.span_end}] "
            "must satisfy 0 <= start <= end"
        )


def _words(items: Iterable[Word]) -> tuple[Word, ...]:
    return tuple(items)


def _perceptions(items: Iterable[Perception]) -> tuple[Perception, ...]:
    return tuple(items)


def _turns(items: Iterable[Turn]) -> tuple[Turn, ...]:
    return tuple(items)


# --------------------------------------------------------------------------- perceptions


@attrs.frozen(kw_only=True)
class Perception:
    """Something the perceiver heard in ``[span_start, span_end]`` of the stream.

    ``emitted_at`` is stamped by the session with the session time the perception
    became available; perceivers leave it ``None``.
    """

    kind: ClassVar[str] = "perception"
    span_start: float = attrs.field(validator=_finite)
    span_end: float = attrs.field(validator=_finite)
    emitted_at: float | None = attrs.field(default=None, validator=_optional_finite)
    source: str = ""

    def __attrs_post_init__(self) -> None:
        _check_span(self)


@_register
@attrs.frozen(kw_only=True)
class SpeechActivity(Perception):
    """Speech started (``speaking=True``) or ended (``speaking=False``).

    ``span_start`` is where the speech began. For an end, ``span_end`` is where it ended;
    for a start, the end of the audio that confirmed it. Both are stream times of the
    audio itself: how long the detector waited to be sure shows in ``emitted_at``.
    """

    kind: ClassVar[str] = "speech_activity"
    speaking: bool
    probability: float = attrs.field(default=1.0, validator=_unit_interval)


@_register
@attrs.frozen(kw_only=True)
class Word:
    """One recognised word with its stream timing."""

    kind: ClassVar[str] = "word"
    text: str
    start: float = attrs.field(validator=_finite)
    end: float = attrs.field(validator=_finite)
    probability: float = attrs.field(default=1.0, validator=_unit_interval)

    def __attrs_post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ConfigurationError(f"Word {self.text!r} timing [{self.start}, {self.end}] is invalid")


@_register
@attrs.frozen(kw_only=True)
class TranscriptUpdate(Perception):
    """New transcript: ``committed`` text is final and appended once; ``tentative`` may change.

    ``words`` are the newly committed words with their timings. Concatenating the
    ``committed`` parts of all updates in order gives the whole final transcript.
    """

    kind: ClassVar[str] = "transcript"
    committed: str = ""
    tentative: str = ""
    words: tuple[Word, ...] = attrs.field(default=(), converter=_words)


@_register
@attrs.frozen(kw_only=True)
class TurnEndEstimate(Perception):
    """How likely the user's turn is complete, judged from the audio of ``[span_start, span_end]``.

    Emitted at an end of speech by a semantic end-of-turn model (e.g. Smart Turn):
    ``probability`` is P(turn complete) in [0, 1]; ``speech_end`` is the end of speech
    it follows (within the span; the span runs on to where the end was confirmed).
    """

    kind: ClassVar[str] = "turn_end"
    probability: float = attrs.field(validator=_unit_interval)
    speech_end: float = attrs.field(validator=_finite)

    def __attrs_post_init__(self) -> None:
        _check_span(self)
        if not self.span_start <= self.speech_end <= self.span_end:
            raise ConfigurationError(
                f"TurnEndEstimate.speech_end {self.speech_end} must lie in its span "
                f"[{self.span_start}, {self.span_end}]"
            )


@_register
@attrs.frozen(kw_only=True)
class SoundEvent(Perception):
    """A non-speech sound (AudioSet-style label) with a confidence score in [0, 1]."""

    kind: ClassVar[str] = "sound_event"
    label: str = attrs.field()
    score: float = attrs.field(validator=_unit_interval)

    @label.validator
    def _check_label(self, _: attrs.Attribute[str], value: str) -> None:
        if not value.strip():
            raise ConfigurationError("SoundEvent.label must not be empty")


# --------------------------------------------------------------------------- decisions


class Action(enum.Enum):
    """What the decider wants the session to do now."""

    SILENT = "silent"
    RESPOND = "respond"
    INTERRUPT = "interrupt"
    BACKCHANNEL = "backchannel"


@_register
@attrs.frozen(kw_only=True)
class StandingTask:
    """An instruction the session holds for its whole life ("warn me if an alarm sounds")."""

    kind: ClassVar[str] = "task"
    name: str = attrs.field()
    instruction: str
    proactive: bool = False
    priority: int = 0

    @name.validator
    def _check_name(self, _: attrs.Attribute[str], value: str) -> None:
        if not value or not value.replace("_", "").replace("-", "").isalnum():
            raise ConfigurationError(f"task name {value!r} must be non-empty letters, digits, '-' or '_'")


@_register
@attrs.frozen(kw_only=True)
class Decision:
    """The decider's verdict at one decision point.

    The decider fills ``action``, ``task``, ``evidence``, ``score`` and ``reason``;
    the session stamps ``id``, ``decided_at`` (session time) and ``heard_until``
    (stream time of the last audio the decision could have used).

    ``prepare`` (only on SILENT) says the decider expects to RESPOND for ``task`` on
    ``evidence`` at a coming decision point — the user paused after what reads as a
    complete turn. The session may then start writing that reply ahead and hold all of
    its output until the RESPOND confirms it (see :meth:`preparing`).

    ``hold`` (only on SILENT) says the user may be taking the floor while the agent
    speaks and the decider is still judging it: the session pauses the reply's audio
    until a decision that does not hold, which resumes it, or an INTERRUPT, which
    cancels it (see :meth:`holding`).
    """

    kind: ClassVar[str] = "decision"
    action: Action = attrs.field(converter=Action)
    task: str | None = None
    evidence: tuple[Perception, ...] = attrs.field(default=(), converter=_perceptions)
    score: float = attrs.field(default=1.0, validator=_unit_interval)
    reason: str = ""
    prepare: bool = False
    hold: bool = False
    id: int | None = None
    decided_at: float | None = attrs.field(default=None, validator=_optional_finite)
    heard_until: float | None = attrs.field(default=None, validator=_optional_finite)

    def __attrs_post_init__(self) -> None:
        if self.prepare and self.action is not Action.SILENT:
            raise ConfigurationError(f"only a SILENT decision can prepare a reply, not {self.action.value}")
        if self.hold and self.action is not Action.SILENT:
            raise ConfigurationError(f"only a SILENT decision can hold a reply, not {self.action.value}")
        if self.hold and self.prepare:
            raise ConfigurationError("a decision either prepares a reply (listening) or holds one (speaking)")

    @classmethod
    def silent(cls, reason: str = "") -> Decision:
        """A SILENT decision (the common case)."""
        return cls(action=Action.SILENT, reason=reason)

    @classmethod
    def preparing(cls, task: str | None, evidence: Iterable[Perception], reason: str = "") -> Decision:
        """SILENT for now, but a RESPOND for ``task`` on ``evidence`` is likely next: start writing it."""
        return cls(action=Action.SILENT, task=task, evidence=tuple(evidence), reason=reason, prepare=True)

    @classmethod
    def holding(cls, evidence: Iterable[Perception], reason: str = "") -> Decision:
        """SILENT for now, but pause the reply's audio: the user may be barging in (judged at coming points)."""
        return cls(action=Action.SILENT, evidence=tuple(evidence), reason=reason, hold=True)


@_register
@attrs.frozen(kw_only=True)
class Turn:
    """One turn of the conversation so far.

    ``role`` is ``"user"`` for words a reply answered, ``"assistant"`` for the agent's
    replies, and ``"overheard"`` for speech the agent heard but no reply answered
    (a radio, people talking among themselves): context, not a request.
    """

    kind: ClassVar[str] = "turn"
    role: str = attrs.field(validator=attrs.validators.in_(("user", "assistant", "overheard")))
    text: str


@attrs.frozen(kw_only=True, eq=False)
class ResponseRequest:
    """Everything a responder gets to write one reply.

    ``utterance`` is what the user said that this reply answers (empty when a sound or
    a standing task triggered it); ``history`` holds earlier answered turns, replies,
    and overheard speech (role ``"overheard"``); ``transcript`` is every committed word
    heard so far (bounded).
    """

    reply_id: int
    decision: Decision
    task: StandingTask | None
    transcript: str
    utterance: str = ""
    history: tuple[Turn, ...] = attrs.field(default=(), converter=_turns)
    trigger: Perception | None = None
    audio: FloatArray | None = None
    sample_rate: int = 16000


@attrs.frozen(kw_only=True)
class TextDelta:
    """A piece of reply text, as a responder streams it."""

    text: str


def _audio_samples(value: Any) -> FloatArray:
    array = np.asarray(value)
    if array.dtype != np.float32 or array.ndim != 1:
        raise AudioFormatError(f"AudioDelta samples must be 1-D float32, got {array.dtype} {array.shape}")
    if not np.all(np.isfinite(array)):
        raise AudioFormatError("AudioDelta samples contain NaN or infinite values")
    return array


@attrs.frozen(kw_only=True, eq=False)
class AudioDelta:
    """A piece of reply audio (mono float32), as a speech responder streams it."""

    samples: FloatArray = attrs.field(converter=_audio_samples)
    sample_rate: int
    text: str = ""

    @property
    def duration(self) -> float:
        """Length of this piece in seconds."""
        return self.samples.size / self.sample_rate


ResponseDelta: TypeAlias = TextDelta | AudioDelta


# --------------------------------------------------------------------------- session events


@_register
@attrs.frozen(kw_only=True)
class AudioReceived:
    """A chunk entered the session."""

    kind: ClassVar[str] = "audio"
    index: int
    span_start: float
    span_end: float
    at: float


@_register
@attrs.frozen(kw_only=True)
class ChunkDropped:
    """A chunk was dropped by the overflow policy (never silently)."""

    kind: ClassVar[str] = "chunk_dropped"
    index: int
    span_start: float
    span_end: float
    at: float
    reason: str


@_register
@attrs.frozen(kw_only=True)
class DecisionIgnored:
    """A decision the turn-taking state did not carry out, and why."""

    kind: ClassVar[str] = "decision_ignored"
    decision_id: int
    action: Action = attrs.field(converter=Action)
    reason: str
    at: float


@_register
@attrs.frozen(kw_only=True)
class ReplyStarted:
    """A reply began for ``decision_id``."""

    kind: ClassVar[str] = "reply_started"
    reply_id: int
    decision_id: int
    task: str | None
    at: float


@_register
@attrs.frozen(kw_only=True)
class ReplyText:
    """Reply text was emitted."""

    kind: ClassVar[str] = "reply_text"
    reply_id: int
    text: str
    at: float


@_register
@attrs.frozen(kw_only=True)
class ReplyAudio:
    """Reply audio scheduled to play from ``play_at`` for ``duration`` seconds (session time)."""

    kind: ClassVar[str] = "reply_audio"
    reply_id: int
    play_at: float
    duration: float
    sample_rate: int
    at: float
    samples: FloatArray | None = attrs.field(default=None, eq=False, repr=False, metadata={"trace": False})
    backchannel: bool = False
    """True for an acknowledgement's audio (``reply_id`` is then the backchannel's id)."""


@_register
@attrs.frozen(kw_only=True)
class ReplyFinished:
    """Terminal: the reply ran to its end."""

    kind: ClassVar[str] = "reply_finished"
    reply_id: int
    text: str
    at: float
    first_output_at: float | None = None
    deltas: int = 0


@_register
@attrs.frozen(kw_only=True)
class ReplyCancelled:
    """Terminal: the reply was stopped; no output of it follows ``carried_out_at``."""

    kind: ClassVar[str] = "reply_cancelled"
    reply_id: int
    reason: str
    requested_at: float
    carried_out_at: float
    decision_id: int | None = None


@_register
@attrs.frozen(kw_only=True)
class ReplyFailed:
    """Terminal: the responder raised; the session keeps listening."""

    kind: ClassVar[str] = "reply_failed"
    reply_id: int
    error_type: str
    message: str
    at: float


@_register
@attrs.frozen(kw_only=True)
class BackchannelStarted:
    """An acknowledgement ("mm-hm") began for ``decision_id``; the agent does not take the floor."""

    kind: ClassVar[str] = "backchannel_started"
    backchannel_id: int
    decision_id: int
    text: str
    at: float


@_register
@attrs.frozen(kw_only=True)
class BackchannelEnded:
    """Terminal: the acknowledgement played out (``cancelled`` false) or was cut short."""

    kind: ClassVar[str] = "backchannel_ended"
    backchannel_id: int
    cancelled: bool
    at: float
    reason: str = ""


@_register
@attrs.frozen(kw_only=True)
class InputWarning:
    """Something was wrong with the input, repaired or noted without moving stream time.

    Emitted once per ``code`` (e.g. ``"non_finite_samples"``); ``count`` is how many
    were affected when it was raised; the running total is in the session statistics.
    """

    kind: ClassVar[str] = "input_warning"
    code: str
    message: str
    count: int
    at: float


@_register
@attrs.frozen(kw_only=True)
class BackendErrorEvent:
    """A backend call failed; ``handling`` is what the failure policy did about it."""

    kind: ClassVar[str] = "backend_error"
    component: str
    error_type: str
    message: str
    retryable: bool
    attempt: int
    handling: str = attrs.field(validator=attrs.validators.in_(("retry", "skip", "stop")))
    at: float


@_register
@attrs.frozen(kw_only=True)
class SpeculationStarted:
    """A reply is being written ahead of its RESPOND (a SILENT decision prepared it); nothing of it plays yet.

    ``reply_id`` is the id the reply will carry if a RESPOND confirms it.
    """

    kind: ClassVar[str] = "speculation_started"
    reply_id: int
    decision_id: int
    task: str | None
    utterance: str
    at: float


@_register
@attrs.frozen(kw_only=True)
class SpeculationEnded:
    """Terminal for a reply written ahead: ``used`` (a RESPOND confirmed it) or discarded, and why."""

    kind: ClassVar[str] = "speculation_ended"
    reply_id: int
    used: bool
    reason: str
    at: float


@_register
@attrs.frozen(kw_only=True)
class ReplyPaused:
    """The reply's audio stopped at ``at`` because a decision held it (the user may be barging in).

    Nothing of it plays until a :class:`ReplyResumed`, or it ends (a barge-in cancels it).
    """

    kind: ClassVar[str] = "reply_paused"
    reply_id: int
    decision_id: int
    reason: str
    at: float


@_register
@attrs.frozen(kw_only=True)
class ReplyResumed:
    """A paused reply plays on from where it stopped (the sound over it was not an interruption)."""

    kind: ClassVar[str] = "reply_resumed"
    reply_id: int
    decision_id: int | None
    paused_for: float
    at: float


NORMAL_ENDINGS = ("source_exhausted", "stopped")
"""``SessionEnded.reason`` values of a session that ended as asked; any other reason is abnormal."""


@_register
@attrs.frozen(kw_only=True)
class SessionEnded:
    """The session stopped, and why.

    ``reason`` is ``"source_exhausted"`` (the input ended), ``"stopped"`` (:meth:`Session.stop`),
    or an abnormal ending: ``"stopped: <why>"`` (a stop with a reason, e.g. a signal or a
    client disconnect), ``"source failed: ..."``, ``"failed: ..."`` (a failure policy said
    stop) or ``"cancelled"`` (the task running the session was cancelled).
    """

    kind: ClassVar[str] = "session_ended"
    reason: str
    heard_until: float
    at: float

    @property
    def normal(self) -> bool:
        """Whether the session ended as asked (the input ended or ``stop()`` without a reason)."""
        return self.reason in NORMAL_ENDINGS


Event: TypeAlias = (
    SpeechActivity
    | TranscriptUpdate
    | TurnEndEstimate
    | SoundEvent
    | Decision
    | AudioReceived
    | ChunkDropped
    | DecisionIgnored
    | ReplyStarted
    | ReplyText
    | ReplyAudio
    | ReplyFinished
    | ReplyCancelled
    | ReplyFailed
    | ReplyPaused
    | ReplyResumed
    | BackendErrorEvent
    | BackchannelStarted
    | BackchannelEnded
    | InputWarning
    | SpeculationStarted
    | SpeculationEnded
    | SessionEnded
)


# --------------------------------------------------------------------------- serialisation


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if attrs.has(type(value)):
        return event_to_dict(value)
    return value


def event_to_dict(event: Any) -> dict[str, Any]:
    """A JSON-ready dict of an event (fields marked ``trace: False`` are left out)."""
    cls = type(event)
    kind = getattr(cls, "kind", None)
    if kind not in _KINDS or _KINDS[kind] is not cls:
        msg = f"{cls.__name__} is not a serialisable audiointeract event"
        raise TypeError(msg)
    out: dict[str, Any] = {"kind": kind}
    for field in attrs.fields(cls):
        if field.metadata.get("trace", True):
            out[field.name] = _encode(getattr(event, field.name))
    return out


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "kind" in value:
        return event_from_dict(value)
    if isinstance(value, list):
        return tuple(_decode(item) for item in value)
    return value


def event_from_dict(data: dict[str, Any]) -> Any:
    """Rebuild an event from :func:`event_to_dict` output."""
    kind = data.get("kind")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ConfigurationError(f"unknown event kind {kind!r}")
    kwargs = {key: _decode(value) for key, value in data.items() if key != "kind"}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigurationError(f"malformed {kind!r} event: {exc}") from exc
