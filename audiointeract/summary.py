"""A summary of a session a person reads in five seconds: what was answered, how fast, what was ignored.

:func:`summarize` reads a :class:`~audiointeract.trace.Trace` (and, when there is one, the
:class:`~audiointeract.simulators.scene.Scene` it was played from) and writes a few lines:
one per reply — how long after the user stopped speaking (or the sound began) the first
reply audio played, what was said or heard, and what the agent said; then the speech and
sounds no reply answered, and why when the trace says; then the latency's median and max.

Latency is measured from the user, not from an internal event: the end of the user's
speech in the audio (the scene's ground truth, or else the end the VAD reported), moved
onto the session clock by the arrival of the audio chunk that held it, up to the first
reply audio's play time (the first reply text for a text-only responder).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import attrs

from audiointeract.events import (
    Action,
    AudioReceived,
    Decision,
    DecisionIgnored,
    Perception,
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
from audiointeract.simulators.scene import Scene, Speech
from audiointeract.trace import Trace

__all__ = ["summarize"]

_EPS = 1e-6
_QUOTE_CHARS = 70
_SOUNDS_LISTED = 4


@attrs.define
class _Turn:
    """One stretch of speech in stream seconds, with the words heard in it."""

    start: float
    end: float
    text: str = ""
    speaker: str = "user"
    answered: bool = False


@attrs.frozen
class _Row:
    latency: float | None
    heard: str
    said: str
    outcome: str


def summarize(trace: Trace, scene: Scene | None = None) -> str:
    """A short plain-text summary of ``trace``; with ``scene``, speech ends and texts are ground truth."""
    events = [record.event for record in trace]
    decisions = {d.id: d for d in events if isinstance(d, Decision) and d.id is not None}
    turns = _scene_turns(scene) if scene is not None else _heard_turns(events)
    arrivals = [(e.span_end, e.at) for e in events if isinstance(e, AudioReceived)]
    rows: list[_Row] = []
    for started in (e for e in events if isinstance(e, ReplyStarted)):
        decision = decisions.get(started.decision_id)
        rows.append(_reply_row(started, decision, events, turns, arrivals))
    latencies = [row.latency for row in rows if row.latency is not None]
    answered = sum(turn.answered for turn in turns if turn.speaker == "user")
    user_turns = sum(turn.speaker == "user" for turn in turns)
    warnings = sum(row.heard.startswith("sound ") for row in rows)
    cut = sum(row.outcome == "cut off by the user" for row in rows)
    counts = [
        f"{answered} of {_count(user_turns, 'user turn')} answered",
        _count(warnings, "sound warning"),
        f"{_count(cut, 'reply', 'replies')} cut off by the user",
    ]
    lines = [f"summary: {', '.join(counts)}"]
    for row in rows:
        when = f"{row.latency:4.1f} s" if row.latency is not None else "   - "
        outcome = f"  [{row.outcome}]" if row.outcome != "finished" else ""
        lines.append(f"  {when}  {row.heard} -> {_quote(row.said) if row.said else '(nothing said)'}{outcome}")
    lines.extend(_ignored(events, turns, decisions))
    if latencies:
        anchor = "in the scene" if scene is not None else "as the VAD heard it"
        lines.append(
            f"latency: first reply audio after the user stopped speaking ({anchor}) or the sound began: "
            f"median {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s"
        )
    return "\n".join(lines)


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text}"' if len(text) <= _QUOTE_CHARS else f'"{text[: _QUOTE_CHARS - 1].rstrip()}…"'


def _scene_turns(scene: Scene) -> list[_Turn]:
    return [
        _Turn(start=s.start, end=s.end, text=s.text, speaker=s.speaker)
        for s in scene.segments
        if isinstance(s, Speech)
    ]


def _heard_turns(events: Sequence[object]) -> list[_Turn]:
    """Speech turns as the perceiver heard them: VAD start/end, with the words committed in them."""
    turns: list[_Turn] = []
    for event in events:
        if isinstance(event, SpeechActivity):
            if event.speaking and (not turns or turns[-1].end >= 0):
                turns.append(_Turn(start=event.span_end, end=-1.0))
            elif not event.speaking and turns and turns[-1].end < 0:
                turns[-1].end = event.span_end
        elif isinstance(event, TranscriptUpdate) and event.committed.strip():
            owner = next((t for t in reversed(turns) if t.start <= event.span_end + _EPS), None)
            if owner is not None:
                owner.text = f"{owner.text} {event.committed.strip()}".strip()
    for turn in turns:
        if turn.end < 0:
            turn.end = turn.start
    return [turn for turn in turns if turn.text]


def _session_time(stream_time: float, arrivals: Sequence[tuple[float, float]]) -> float | None:
    """When the audio at ``stream_time`` reached the session: its chunk's arrival minus what followed it."""
    for span_end, at in arrivals:
        if span_end >= stream_time - _EPS:
            return at - (span_end - stream_time)
    return None


def _reply_row(
    started: ReplyStarted,
    decision: Decision | None,
    events: Sequence[object],
    turns: Sequence[_Turn],
    arrivals: Sequence[tuple[float, float]],
) -> _Row:
    reply = started.reply_id
    evidence: Sequence[Perception] = decision.evidence if decision is not None else ()
    trigger = evidence[-1] if evidence else None
    anchor: float | None = None
    if isinstance(trigger, SoundEvent):
        heard = f"sound {trigger.label} ({trigger.score:.2f})"
        anchor = trigger.span_start
    else:
        heard_until = decision.heard_until if decision is not None and decision.heard_until is not None else 0.0
        turn = next((t for t in reversed(turns) if t.end <= heard_until + _EPS and not t.answered), None)
        if turn is not None:
            turn.answered = True
            anchor = turn.end
        heard = _quote(turn.text) if turn is not None else f"({started.task or 'reply'})"
    first_audio = next(
        (e.play_at for e in events if isinstance(e, ReplyAudio) and e.reply_id == reply and not e.backchannel), None
    )
    first_text = next((e.at for e in events if isinstance(e, ReplyText) and e.reply_id == reply), None)
    output = first_audio if first_audio is not None else first_text
    user_time = _session_time(anchor, arrivals) if anchor is not None else None
    latency = output - user_time if output is not None and user_time is not None else None
    said = "".join(e.text for e in events if isinstance(e, ReplyText) and e.reply_id == reply).strip()
    outcome = "unfinished"
    for event in events:
        if isinstance(event, ReplyFinished) and event.reply_id == reply:
            said, outcome = event.text.strip() or said, "finished"
        elif isinstance(event, ReplyCancelled) and event.reply_id == reply:
            outcome = "cut off by the user" if event.reason == "barge-in" else f"cancelled: {event.reason}"
        elif isinstance(event, ReplyFailed) and event.reply_id == reply:
            outcome = f"failed: {event.error_type}"
    return _Row(latency=latency, heard=heard, said=said, outcome=outcome)


def _ignored(events: Sequence[object], turns: Sequence[_Turn], decisions: dict[int, Decision]) -> list[str]:
    """Lines for speech and sounds no reply answered, and decisions the session did not carry out."""
    lines: list[str] = []
    interrupts = [d for d in decisions.values() if d.action is Action.INTERRUPT]
    for turn in turns:
        if turn.answered:
            continue
        spoke_over = any(
            d.heard_until is not None and turn.start - _EPS <= d.heard_until <= turn.end + 1.0 for d in interrupts
        )
        if spoke_over:
            why = "spoken over a reply: barge-in"
        elif turn.speaker != "user":
            why = f"{turn.speaker}, not said to the assistant"
        else:
            why = "no policy chose to answer"
        lines.append(f"  ignored  {_quote(turn.text)} ({why})")
    lines.extend(
        f"  ignored  a {event.action.value} decision ({event.reason})"
        for event in events
        if isinstance(event, DecisionIgnored)
    )
    acted_labels = {d.evidence[-1].label for d in decisions.values()
                    if d.action is not Action.SILENT and d.evidence and isinstance(d.evidence[-1], SoundEvent)}
    loudest: dict[str, float] = {}
    for event in events:
        if isinstance(event, SoundEvent) and event.label not in acted_labels:
            loudest[event.label] = max(loudest.get(event.label, 0.0), event.score)
    if loudest:
        ranked = sorted(loudest.items(), key=lambda item: -item[1])
        named = ", ".join(f"{label} {score:.2f}" for label, score in ranked[:_SOUNDS_LISTED])
        more = f" and {len(ranked) - _SOUNDS_LISTED} more" if len(ranked) > _SOUNDS_LISTED else ""
        lines.append(f"  ignored  sounds {named}{more} (no decision acted on them)")
    return lines
