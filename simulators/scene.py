"""Scenes: declarative audio timelines with ground truth.

A :class:`Scene` lists what is heard and when — :class:`Speech`, :class:`Sound` and
:class:`Silence` segments plus :class:`NoiseBed` backgrounds — and the standing tasks
of the session. Each segment says, per task, whether a response is expected and in
which window (:class:`Expect`); :meth:`Scene.expectations` turns those into absolute
:class:`Expectation` windows on the stream timeline, the ground truth the metrics
score against. Times are stream seconds from the first sample.

The reference point of every expectation follows the paper's label rule: the
response belongs to the chunk in which the triggering evidence ends,
``ceil(t / c)`` for chunk length ``c``, i.e. stream time ``ceil(t / c) * c``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeAlias

import attrs

from audiointeract.errors import ConfigurationError
from audiointeract.events import StandingTask
from audiointeract.simulators._validation import MAX_SCENE_SECONDS, non_negative, one_of, positive, within
from audiointeract.simulators.faults import Fault, FaultPlan

__all__ = [
    "Anchor",
    "Expect",
    "Expectation",
    "NoiseBed",
    "Scene",
    "Segment",
    "Silence",
    "Sound",
    "Speech",
    "label_time",
]

_EPS = 1e-9
_GAIN_DB = within(-120.0, 60.0)
_SNR_DB = within(-60.0, 120.0)


def label_time(evidence_end: float, chunk_seconds: float) -> float:
    """Stream time of the paper's label chunk: the end of chunk ``ceil(t / c)``."""
    if chunk_seconds <= 0:
        raise ConfigurationError(f"chunk_seconds must be > 0, got {chunk_seconds}")
    return round(math.ceil(evidence_end / chunk_seconds - _EPS) * chunk_seconds, 9)


class Anchor(enum.Enum):
    """Which instant of a segment an expected response is measured from."""

    END = "end"
    """The segment's end (a question is answered once it has been asked)."""
    ONSET = "onset"
    """The segment's start (warn about an alarm as soon as it sounds)."""


def _anchor(value: object) -> Anchor:
    try:
        return Anchor(value)
    except ValueError as exc:
        choices = " or ".join(repr(anchor.value) for anchor in Anchor)
        raise ConfigurationError(f"Expect.anchor must be {choices}, got {value!r}") from exc


@attrs.frozen(kw_only=True)
class Expect:
    """A response for ``task`` is expected in ``[anchor + delay, anchor + delay + within]``."""

    task: str
    anchor: Anchor = attrs.field(default=Anchor.END, converter=_anchor)
    delay: float = attrs.field(default=0.0, validator=non_negative)
    within: float = attrs.field(default=2.0, validator=positive)


@attrs.frozen(kw_only=True)
class Expectation:
    """One expected response on the absolute stream timeline (ground truth).

    ``evidence_end`` is the anchor instant, ``reference`` the paper's label time
    for it, and a RESPOND for ``task`` decided in ``[window_start, window_end]``
    fulfils it. ``segment`` indexes :attr:`Scene.segments`.
    """

    task: str
    segment: int
    label: str
    evidence_end: float
    reference: float
    window_start: float
    window_end: float


def _expects(value: Iterable[Expect]) -> tuple[Expect, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Segment:
    """Something heard from ``start`` for ``duration`` seconds.

    ``clip`` names a real recording (see :mod:`audiointeract.simulators.clips`);
    without one the segment is rendered synthetically. ``gain_db`` scales it and
    ``expects`` lists the responses it calls for (empty: none, e.g. a distractor).
    """

    kind: ClassVar[str] = "segment"
    start: float = attrs.field(validator=non_negative)
    duration: float = attrs.field(validator=positive)
    clip: str | None = None
    gain_db: float = attrs.field(default=0.0, validator=_GAIN_DB)
    expects: tuple[Expect, ...] = attrs.field(default=(), converter=_expects)

    @property
    def end(self) -> float:
        """Stream time just after the segment (rounded to the nanosecond, like session times)."""
        return round(self.start + self.duration, 9)

    @property
    def label(self) -> str:
        """What the segment is, in words (transcript or sound label)."""
        return self.kind


@attrs.frozen(kw_only=True)
class Speech(Segment):
    """Someone speaking ``text``. ``speaker`` "user" is the person the agent serves."""

    kind: ClassVar[str] = "speech"
    text: str = attrs.field()
    speaker: str = "user"

    @text.validator
    def _check_text(self, _: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"Speech.text must be a non-empty string, got {value!r}")

    @property
    def label(self) -> str:
        return self.text


@attrs.frozen(kw_only=True)
class Sound(Segment):
    """A non-speech sound event with an AudioSet-style ``label``.

    ``synth`` picks the synthetic rendering when there is no clip: "alarm",
    "tone", "noise" or "chirp". ``score`` is what a perfect tagger reports.
    """

    kind: ClassVar[str] = "sound"
    label_: str = attrs.field(alias="label")
    synth: str = attrs.field(default="alarm", validator=one_of("alarm", "tone", "noise", "chirp"))
    score: float = attrs.field(default=1.0)

    @label_.validator
    def _check_label(self, _: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"Sound.label must be a non-empty string, got {value!r}")

    @score.validator
    def _check_score(self, _: attrs.Attribute[float], value: float) -> None:
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ConfigurationError(f"Sound.score must be in [0, 1], got {value}")

    @property
    def label(self) -> str:
        return self.label_


@attrs.frozen(kw_only=True)
class Silence(Segment):
    """Explicit digital silence (nothing rendered; useful as a timeline spacer)."""

    kind: ClassVar[str] = "silence"


AnySegment: TypeAlias = Speech | Sound | Silence
_SEGMENT_TYPES: dict[str, type[Segment]] = {"speech": Speech, "sound": Sound, "silence": Silence}


@attrs.frozen(kw_only=True)
class NoiseBed:
    """Background noise under ``[start, end]`` (None: to the scene's end) at ``snr_db``.

    The SNR is relative to the mean power of the foreground where it is not silent
    (-30 dBFS if the span has no foreground). ``color`` is "white", "pink" or
    "brown"; a ``clip`` (looped) replaces the synthetic noise.
    """

    snr_db: float = attrs.field(default=20.0, validator=_SNR_DB)
    start: float = attrs.field(default=0.0, validator=non_negative)
    end: float | None = None
    color: str = attrs.field(default="pink", validator=one_of("white", "pink", "brown"))
    clip: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.end is not None and not (
            isinstance(self.end, int | float) and math.isfinite(self.end) and self.start < self.end <= MAX_SCENE_SECONDS
        ):
            raise ConfigurationError(
                f"NoiseBed.end must be after its start {self.start} and at most {MAX_SCENE_SECONDS:g} s, got {self.end}"
            )


def _tasks(value: Sequence[StandingTask | Mapping[str, Any]]) -> tuple[StandingTask, ...]:
    return tuple(task if isinstance(task, StandingTask) else StandingTask(**task) for task in value)


def _segments(value: Iterable[AnySegment]) -> tuple[AnySegment, ...]:
    return tuple(value)


def _noise(value: Iterable[NoiseBed]) -> tuple[NoiseBed, ...]:
    return tuple(value)


def _faults(value: Iterable[Fault]) -> tuple[Fault, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Scene:
    """A timeline of segments and noise beds, the standing tasks, and its length.

    ``duration`` defaults to the last segment's end plus ``tail`` seconds.
    ``faults`` are backend faults the simulation injects
    (:mod:`audiointeract.simulators.faults`).
    """

    segments: tuple[AnySegment, ...] = attrs.field(converter=_segments)
    tasks: tuple[StandingTask, ...] = attrs.field(converter=_tasks)
    noise: tuple[NoiseBed, ...] = attrs.field(default=(), converter=_noise)
    name: str = "scene"
    description: str = ""
    tail: float = attrs.field(default=1.0, validator=non_negative)
    faults: tuple[Fault, ...] = attrs.field(default=(), converter=_faults)
    duration: float = attrs.field()

    @duration.default
    def _default_duration(self) -> float:
        return max((segment.end for segment in self.segments), default=0.0) + self.tail

    def __attrs_post_init__(self) -> None:
        if not (math.isfinite(self.duration) and 0 < self.duration <= MAX_SCENE_SECONDS):
            raise ConfigurationError(
                f"Scene.duration must be > 0 and at most {MAX_SCENE_SECONDS:g} s, got {self.duration}"
            )
        names = [task.name for task in self.tasks]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"scene task names must be unique, got {names}")
        for index, segment in enumerate(self.segments):
            if segment.end > self.duration + _EPS:
                raise ConfigurationError(
                    f"segment {index} ends at {segment.end:.3f}s, after the scene's end {self.duration:.3f}s"
                )
            for expect in segment.expects:
                if expect.task not in names:
                    raise ConfigurationError(
                        f"segment {index} expects a response for unknown task {expect.task!r}; tasks: {names}"
                    )

    def expectations(self, chunk_seconds: float = 0.4) -> tuple[Expectation, ...]:
        """Every expected response as an absolute window, ordered by window start."""
        out = []
        for index, segment in enumerate(self.segments):
            for expect in segment.expects:
                anchor = segment.start if expect.anchor is Anchor.ONSET else segment.end
                opens = anchor + expect.delay
                out.append(
                    Expectation(
                        task=expect.task,
                        segment=index,
                        label=segment.label,
                        evidence_end=anchor,
                        reference=label_time(anchor, chunk_seconds),
                        window_start=opens,
                        window_end=opens + expect.within,
                    )
                )
        return tuple(sorted(out, key=lambda e: (e.window_start, e.segment, e.task)))

    def speech_spans(self, speaker: str | None = "user") -> tuple[tuple[float, float], ...]:
        """``(start, end)`` of every speech segment (of ``speaker``; None: anyone)."""
        return tuple(
            (s.start, s.end)
            for s in self.segments
            if isinstance(s, Speech) and (speaker is None or s.speaker == speaker)
        )

    # ---------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        """A JSON/TOML-ready dict; :meth:`from_dict` reads it back."""
        return {
            "name": self.name,
            "description": self.description,
            "duration": self.duration,
            "tail": self.tail,
            "tasks": [
                {"name": t.name, "instruction": t.instruction, "proactive": t.proactive, "priority": t.priority}
                for t in self.tasks
            ],
            "segments": [_segment_to_dict(segment) for segment in self.segments],
            "noise": [_drop_none(attrs.asdict(bed)) for bed in self.noise],
            "faults": [fault.to_dict() for fault in self.faults],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, durations: Mapping[str, float] | None = None) -> Scene:
        """Build a scene from :meth:`to_dict` output or a hand-written file.

        A segment may leave out ``start`` (it then follows the previous segment
        after ``gap`` seconds, default 0) and ``duration`` (taken from
        ``durations[clip]``, which :func:`~audiointeract.simulators.files.load_scene`
        fills from the clip bank).
        """
        if not isinstance(data.get("segments"), list):
            raise ConfigurationError("a scene needs a 'segments' list")
        segments: list[AnySegment] = []
        cursor = 0.0
        for index, raw in enumerate(data["segments"]):
            segment = _segment_from_dict(index, raw, cursor, durations or {})
            segments.append(segment)
            cursor = max(cursor, segment.end)
        tasks = data.get("tasks") or [{"name": "answer", "instruction": "Answer questions addressed to you."}]
        noise = data.get("noise", [])
        if not isinstance(noise, list):
            raise ConfigurationError(f"a scene's 'noise' must be a list, got {type(noise).__name__}")
        try:
            kwargs: dict[str, Any] = {
                "segments": segments,
                "tasks": tasks,
                "noise": [_noise_from_dict(raw) for raw in noise],
                "name": str(data.get("name", "scene")),
                "description": str(data.get("description", "")),
                "tail": _seconds("scene tail", data.get("tail", 1.0)),
                "faults": FaultPlan.from_dicts(data.get("faults", [])).faults,
            }
            if data.get("duration") is not None:
                kwargs["duration"] = _seconds("scene duration", data["duration"])
            return cls(**kwargs)
        except ConfigurationError:
            raise
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigurationError(f"malformed scene: {exc}") from exc


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _segment_to_dict(segment: Segment) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": segment.kind}
    for field in attrs.fields(type(segment)):
        value = getattr(segment, field.name)
        if field.name == "expects":
            value = [{"task": e.task, "anchor": e.anchor.value, "delay": e.delay, "within": e.within} for e in value]
        if value is not None:
            out[field.alias or field.name] = value
    return out


def _segment_from_dict(index: int, raw: Any, cursor: float, durations: Mapping[str, float]) -> AnySegment:
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"segment {index} must be a table/object, got {type(raw).__name__}")
    fields = dict(raw)
    kind = fields.pop("kind", None)
    cls = _SEGMENT_TYPES.get(str(kind))
    if cls is None:
        raise ConfigurationError(f"segment {index} has unknown kind {kind!r}; use one of {sorted(_SEGMENT_TYPES)}")
    try:
        fields.setdefault("start", cursor + _seconds("gap", fields.pop("gap", 0.0)))
        if "duration" not in fields:
            clip = fields.get("clip")
            if not isinstance(clip, str) or clip not in durations:
                raise ConfigurationError("it needs a 'duration' or a clip of known length")
            fields["duration"] = durations[clip]
        expects = fields.get("expects", ())
        if not isinstance(expects, list | tuple):
            raise ConfigurationError(f"'expects' must be a list of objects, got {type(expects).__name__}")
        fields["expects"] = tuple(Expect(**e) for e in expects)
        segment = cls(**fields)
    except (TypeError, ValueError, AttributeError) as exc:  # ConfigurationError too: say which segment
        raise ConfigurationError(f"segment {index} ({kind}) is malformed: {exc}") from exc
    assert isinstance(segment, Speech | Sound | Silence)
    return segment


def _seconds(name: str, value: object) -> float:
    """A scene-level time from a file: a number from 0 to :data:`MAX_SCENE_SECONDS`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        math.isfinite(value) and 0 <= value <= MAX_SCENE_SECONDS
    ):
        raise ConfigurationError(f"{name} must be a number from 0 to {MAX_SCENE_SECONDS:g} s, got {value!r}")
    return float(value)


def _noise_from_dict(raw: Any) -> NoiseBed:
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"a noise bed must be a table/object, got {type(raw).__name__}")
    try:
        return NoiseBed(**raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"malformed noise bed: {exc}") from exc
