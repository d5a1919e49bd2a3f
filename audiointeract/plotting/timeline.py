"""What a picture of a session shows: marks on lanes of one time axis, built from a trace.

:func:`build_timeline` is pure (no drawing): it turns a trace, optionally the audio it
heard and the scene it came from, into :class:`Mark` values on named lanes. The axis is
the audio's stream time. In a real-time-paced session, session time runs with stream
time, so decisions and replies sit at their session time; in a fast-paced one they sit
at the stream position the session had heard when they happened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import attrs
import numpy as np

from audiointeract.audio import FloatArray
from audiointeract.events import (
    Action,
    BackchannelEnded,
    BackchannelStarted,
    BackendErrorEvent,
    ChunkDropped,
    Decision,
    DecisionIgnored,
    InputWarning,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    SoundEvent,
    SpeechActivity,
    TranscriptUpdate,
)
from audiointeract.simulators.metrics import TOLERANCES, match, responses
from audiointeract.simulators.scene import Scene, Sound, Speech
from audiointeract.trace import Trace

__all__ = ["LANES", "Mark", "Timeline", "Waveform", "build_timeline"]

LANES: dict[str, str] = {
    "truth": "scene (truth)",
    "speech": "speech heard",
    "words": "words",
    "sounds": "sounds",
    "decisions": "decisions",
    "replies": "replies",
    "problems": "problems",
}
"""Lane keys, top to bottom, with their titles."""


@attrs.frozen(kw_only=True)
class Mark:
    """One thing on the timeline: a span (``end > start``) or an instant (``end == start``).

    ``kind`` picks its style (e.g. ``"respond"``, ``"cancelled"``, ``"miss"``); ``label``
    is drawn next to it; ``detail`` is what hovering over it tells.
    """

    lane: str = attrs.field(validator=attrs.validators.in_(LANES))
    kind: str
    start: float
    end: float
    label: str = ""
    detail: str = ""


@attrs.frozen(kw_only=True, eq=False)
class Waveform:
    """Mono audio on the same axis (starting at stream time 0)."""

    samples: FloatArray = attrs.field(repr=False)
    sample_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.size / self.sample_rate


@attrs.frozen(kw_only=True, eq=False)
class Timeline:
    """Everything one picture shows, with a title and a one-line summary."""

    title: str
    summary: str
    duration: float
    marks: tuple[Mark, ...]
    waveform: Waveform | None = None

    def lanes(self) -> list[str]:
        """The lanes that have marks, in display order."""
        used = {mark.lane for mark in self.marks}
        return [lane for lane in LANES if lane in used]

    def on(self, lane: str) -> list[Mark]:
        """The marks of one lane, in time order."""
        return sorted((m for m in self.marks if m.lane == lane), key=lambda m: (m.start, m.end))


def _clock(trace: Trace) -> Callable[[float], float]:
    """Session time -> stream time: the identity for real-time pacing, else what had been heard then."""
    if trace.meta.get("pacing", "realtime") == "realtime" or not trace.records:
        return lambda at: at
    at = np.array([r.at for r in trace.records])
    heard = np.maximum.accumulate(np.array([r.heard for r in trace.records]))
    return lambda t: float(np.interp(t, at, heard))


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _perception_marks(trace: Trace) -> list[Mark]:
    marks: list[Mark] = []
    speaking_since: float | None = None
    for activity in trace.of_type(SpeechActivity):
        if activity.speaking and speaking_since is None:
            speaking_since = activity.span_end
        elif not activity.speaking and speaking_since is not None:
            marks.append(_speech(speaking_since, activity.span_end))
            speaking_since = None
    end = trace.ended.heard_until if trace.ended else None
    if speaking_since is not None and end is not None:
        marks.append(_speech(speaking_since, end))
    for update in trace.of_type(TranscriptUpdate):
        committed = update.emitted_at
        when = f"committed at {_seconds(committed)}" if committed is not None else "committed"
        if update.words:
            marks.extend(
                Mark(
                    lane="words", kind="word", start=word.start, end=word.end, label=word.text.strip(),
                    detail=f"{word.text.strip()!r} heard {_seconds(word.start)}-{_seconds(word.end)}, {when}",
                )
                for word in update.words
            )
        elif update.committed.strip():
            text = update.committed.strip()
            marks.append(
                Mark(lane="words", kind="word", start=update.span_start, end=update.span_end, label=text,
                     detail=f"{text!r} heard {_seconds(update.span_start)}-{_seconds(update.span_end)}, {when}")
            )
    marks.extend(_sound_marks(trace.of_type(SoundEvent)))
    return marks


def _sound_marks(sounds: Sequence[SoundEvent], join: float = 0.05) -> list[Mark]:
    """One mark per run of back-to-back events with the same label (a detector reports a long sound piecewise)."""
    runs: list[list[SoundEvent]] = []
    for sound in sorted(sounds, key=lambda s: (s.label, s.span_start)):
        last = runs[-1][-1] if runs else None
        if last is not None and last.label == sound.label and sound.span_start <= last.span_end + join:
            runs[-1].append(sound)
        else:
            runs.append([sound])
    marks = []
    for run in runs:
        start, end = run[0].span_start, max(s.span_end for s in run)
        best = max(s.score for s in run)
        pieces = f", {len(run)} detections" if len(run) > 1 else ""
        marks.append(Mark(lane="sounds", kind="sound", start=start, end=end, label=f"{run[0].label} {best:.2f}",
                          detail=f"{run[0].label} {_seconds(start)}-{_seconds(end)} (best score {best:.2f}{pieces})"))
    return marks


def _speech(start: float, end: float) -> Mark:
    return Mark(lane="speech", kind="speaking", start=start, end=end,
                detail=f"speech {_seconds(start)}-{_seconds(end)}")


def _decision_marks(trace: Trace, clock: Callable[[float], float]) -> list[Mark]:
    ignored = {i.decision_id: i for i in trace.of_type(DecisionIgnored)}
    marks = []
    for decision in trace.of_type(Decision):
        if decision.decided_at is None:
            continue
        at = clock(decision.decided_at)
        action = decision.action.value
        task = f" ({decision.task})" if decision.task else ""
        detail = (
            f"#{decision.id} {action.upper()}{task} at {_seconds(decision.decided_at)}, score {decision.score:.2f}: "
            f"{decision.reason or 'no reason given'}"
        )
        skipped = ignored.get(decision.id) if decision.id is not None else None
        if skipped is not None:
            detail += f" — not carried out: {skipped.reason}"
        label = "" if decision.action is Action.SILENT else action
        kind = f"{action}_ignored" if skipped is not None else action
        marks.append(Mark(lane="decisions", kind=kind, start=at, end=at, label=label, detail=detail))
    return marks


def _reply_marks(trace: Trace, clock: Callable[[float], float]) -> list[Mark]:
    texts: dict[int, str] = {}
    for piece in trace.of_type(ReplyText):
        texts[piece.reply_id] = texts.get(piece.reply_id, "") + piece.text
    ends: dict[int, tuple[float, str, str]] = {}
    for finished in trace.of_type(ReplyFinished):
        texts[finished.reply_id] = finished.text
        ends[finished.reply_id] = (finished.at, "finished", "finished")
    for failed in trace.of_type(ReplyFailed):
        ends[failed.reply_id] = (failed.at, "failed", f"failed: {failed.error_type}: {failed.message}")
    for cancel in trace.of_type(ReplyCancelled):
        lag = cancel.carried_out_at - cancel.requested_at
        ends[cancel.reply_id] = (
            cancel.carried_out_at, "cancelled", f"cancelled ({cancel.reason}), carried out {lag * 1000:.0f} ms after"
        )
    marks = []
    for started in trace.of_type(ReplyStarted):
        reply = started.reply_id
        end_at, outcome, how = ends.get(reply, (started.at, "unfinished", "still running when the trace ends"))
        text = texts.get(reply, "").strip()
        task = f" ({started.task})" if started.task else ""
        start, end = clock(started.at), clock(end_at)
        marks.append(
            Mark(lane="replies", kind="reply", start=start, end=max(end, start), label=_short(text),
                 detail=f"reply {reply}{task} for decision #{started.decision_id}, {how}: {text!r}")
        )
        if outcome in ("cancelled", "failed"):
            marks.append(Mark(lane="replies", kind=outcome, start=end, end=end, label=outcome,
                              detail=f"reply {reply} {how}"))
    acknowledgements = {b.backchannel_id: b.text for b in trace.of_type(BackchannelStarted)}
    cut = {c.reply_id: c.carried_out_at for c in trace.of_type(ReplyCancelled)}
    cut_short = {b.backchannel_id: b.at for b in trace.of_type(BackchannelEnded) if b.cancelled}
    played: list[tuple[bool, int, float, float]] = []  # one entry per run of back-to-back blocks
    for audio in trace.of_type(ReplyAudio):
        stop = (cut_short if audio.backchannel else cut).get(audio.reply_id, math.inf)
        if audio.play_at >= stop:
            continue  # scheduled, but the cancel came first: never heard
        end = min(audio.play_at + audio.duration, stop)
        last = played[-1] if played else None
        if last is not None and last[:2] == (audio.backchannel, audio.reply_id) and audio.play_at <= last[3] + 1e-6:
            played[-1] = (*last[:3], max(last[3], end))
        else:
            played.append((audio.backchannel, audio.reply_id, audio.play_at, end))
    for backchannel, reply, play_start, play_end in played:
        start, end = clock(play_start), clock(play_end)
        if backchannel:
            text = acknowledgements.get(reply, "")
            marks.append(Mark(lane="replies", kind="acknowledgement", start=start, end=end, label=text,
                              detail=f"acknowledgement {text!r} played {_seconds(start)}-{_seconds(end)}"))
        else:
            marks.append(Mark(lane="replies", kind="audio", start=start, end=end,
                              detail=f"reply {reply} audio played {_seconds(start)}-{_seconds(end)}"))
    return marks


def _problem_marks(trace: Trace, clock: Callable[[float], float]) -> list[Mark]:
    marks = []
    labelled: dict[str, float] = {}  # a burst of errors of one component is labelled once
    for record in trace:
        event = record.event
        if isinstance(event, BackendErrorEvent):
            at = clock(event.at)
            repeat = at - labelled.get(event.component, -math.inf) < 1.0
            labelled[event.component] = at
            marks.append(Mark(lane="problems", kind="error", start=at, end=at, label="" if repeat else event.component,
                              detail=f"{event.component} failed ({event.handling}, attempt {event.attempt}) at "
                                     f"{_seconds(event.at)}: {event.error_type}: {event.message}"))
        elif isinstance(event, ChunkDropped):
            marks.append(Mark(lane="problems", kind="dropped", start=event.span_start, end=event.span_end,
                              label="dropped", detail=f"chunk {event.index} dropped: {event.reason}"))
        elif isinstance(event, InputWarning):
            at = clock(event.at)
            marks.append(Mark(lane="problems", kind="warning", start=at, end=at, label=event.code,
                              detail=f"input warning {event.code} ({event.count}): {event.message}"))
    return marks


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _truth_marks(trace: Trace, scene: Scene, tolerance: float, clock: Callable[[float], float]) -> list[Mark]:
    marks = []
    for segment in scene.segments:
        if isinstance(segment, Speech):
            marks.append(Mark(lane="truth", kind="truth_speech", start=segment.start, end=segment.end,
                              label=_short(segment.text),
                              detail=f"{segment.speaker} says {segment.text!r} {_seconds(segment.start)}-"
                                     f"{_seconds(segment.end)}"))
        elif isinstance(segment, Sound):
            marks.append(Mark(lane="truth", kind="truth_sound", start=segment.start, end=segment.end,
                              label=segment.label,
                              detail=f"{segment.label} {_seconds(segment.start)}-{_seconds(segment.end)}"))
    expected = scene.expectations(float(trace.meta.get("chunk_seconds", 0.4)))
    made = responses(trace)
    pairs = match(expected, made, tolerance)
    fulfilled = {id(e): r for e, r in pairs}
    for expectation in expected:
        window = f"{_seconds(expectation.window_start)}-{_seconds(expectation.window_end)}"
        marks.append(Mark(lane="truth", kind="window", start=expectation.window_start, end=expectation.window_end,
                          detail=f"a {expectation.task!r} response is expected in {window} for {expectation.label!r}"))
        if tolerance > 0:
            late = expectation.window_end + tolerance
            marks.append(Mark(lane="truth", kind="late_window", start=expectation.window_end, end=late,
                              detail=f"a {expectation.task!r} response up to {_seconds(late)} still counts "
                                     f"(tolerance {tolerance:g} s)"))
        response = fulfilled.get(id(expectation))
        if response is None:
            marks.append(Mark(lane="truth", kind="miss", start=expectation.window_end, end=expectation.window_end,
                              label="miss", detail=f"missed: no {expectation.task!r} response in {window}"))
        else:
            at = clock(response.decided_at)
            marks.append(Mark(lane="truth", kind="hit", start=at, end=at, label="hit",
                              detail=f"decision #{response.decision_id} answered {expectation.label!r} "
                                     f"{response.decided_at - expectation.evidence_end:.2f} s after its evidence"))
    matched = {r.decision_id for _, r in pairs}
    for response in made:
        if response.decision_id not in matched:
            at = clock(response.decided_at)
            marks.append(Mark(lane="truth", kind="false_trigger", start=at, end=at, label="false trigger",
                              detail=f"decision #{response.decision_id} ({response.task}) at "
                                     f"{_seconds(response.decided_at)} answered nothing the scene expected"))
    return marks


def build_timeline(
    trace: Trace,
    *,
    scene: Scene | None = None,
    waveform: Waveform | None = None,
    tolerance: float = max(TOLERANCES),
    title: str | None = None,
) -> Timeline:
    """The marks of ``trace`` on one axis; with a ``scene`` (default: the one in the trace's meta), the truth.

    ``tolerance`` is how late after a window a response still counts as a hit
    (as in :func:`audiointeract.simulators.metrics.match`).
    """
    if scene is None and isinstance(trace.meta.get("scene"), dict):
        scene = Scene.from_dict(trace.meta["scene"])
    clock = _clock(trace)
    marks = [
        *_perception_marks(trace),
        *_decision_marks(trace, clock),
        *_reply_marks(trace, clock),
        *_problem_marks(trace, clock),
    ]
    if scene is not None:
        marks.extend(_truth_marks(trace, scene, tolerance, clock))
    ends = [m.end for m in marks]
    if trace.ended is not None:
        ends.append(trace.ended.heard_until)
    if waveform is not None:
        ends.append(waveform.duration)
    if scene is not None:
        ends.append(scene.duration)
    duration = max([*ends, 0.1])
    return Timeline(
        title=title or _title(trace, scene),
        summary=_summary(marks, scene, tolerance),
        duration=math.ceil(duration * 10) / 10,
        marks=tuple(marks),
        waveform=waveform,
    )


def _title(trace: Trace, scene: Scene | None) -> str:
    backends = trace.meta.get("backends", {})
    stack = " / ".join(str(backends[k]) for k in ("perceiver", "decider", "responder") if k in backends)
    what = f"scene {scene.name!r}" if scene is not None else str(trace.meta.get("input", "session"))
    return f"{what}: {stack}" if stack else what


def _summary(marks: Sequence[Mark], scene: Scene | None, tolerance: float) -> str:
    def count(kind: str) -> int:
        return sum(1 for m in marks if m.kind == kind)

    parts = [
        f"{count('respond')} respond",
        f"{count('interrupt')} interrupt",
        f"{count('backchannel')} backchannel",
        f"{count('reply')} replies ({count('cancelled')} cancelled, {count('failed')} failed)",
    ]
    if scene is not None:
        parts.append(
            f"expected {count('window')}: {count('hit')} hit, {count('miss')} missed, "
            f"{count('false_trigger')} false triggers (tolerance {tolerance:g} s)"
        )
    return "; ".join(parts)
