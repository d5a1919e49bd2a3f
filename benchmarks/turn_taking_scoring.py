"""Scores for the turn-taking benchmark, after Full-Duplex-Bench (Lin et al., arXiv 2503.04721, 2507.23159).

The definitions follow the benchmark's public scoring code, computed here from what the
session did (decisions, and reply audio at the time it played) against the ground truth of
what the user did in the audio (end of speech, onsets), all in session seconds:

* **take-over (TOR)**: the agent takes the turn when it speaks for at least 1 s (or says
  more than three words; every reply here that plays to its end does). Pause handling:
  the share of items where it takes the turn before the user's whole turn has ended
  (lower is better). Smooth turn-taking: the share of complete turns it answers (higher is
  better); a reply counts once it plays, since the interruption items cut some replies
  short on purpose; latency = its first audio minus the end of the user's speech,
  negative values counted as 0 in the mean (as Full-Duplex-Bench does).
* **stop latency** (v1.5 timing): from the user's onset to the end of the agent's speech
  that overlaps it, agent speech merged over gaps up to 0.5 s. Full-Duplex-Bench ends the
  overlap at the end of the user's speech when the agent talks on; here it runs to the
  moment the agent really fell silent. **Response latency**: from the end of the user's
  interrupting speech to the agent's next speech.
* **false yield** (backchannel, noise, self-speech): the reply in flight is stopped
  (cancelled by a barge-in decision) within 3 s of the sound's onset, or, with the
  agent's own echo, at all; a reply started in answer to the echo counts too.

End of turn for the side-by-side with Pipecat is the RESPOND decision (ours) or the turn
analyser's COMPLETE (Pipecat), both measured from the end of the user's speech, compute
included. Whether an end of turn cut the user off is decided by the audio it rested on:
a decision on audio that ended inside a pause is a cut-off, however late it arrived.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np

from audiointeract.events import (
    Action,
    Decision,
    Event,
    Perception,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    SpeechActivity,
    TranscriptUpdate,
)

TURN_SECONDS = 1.0  # Full-Duplex-Bench: speech this long (or > 3 words) takes the turn
AGENT_MERGE_GAP = 0.5  # Full-Duplex-Bench v1.5 merges model speech over gaps this short
YIELD_WINDOW = 3.0
PAUSE_GAP = 0.3  # a silence this long inside a reply, right after a user sound, is a pause
BUDGETS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, math.inf)


# --------------------------------------------------------------------------- statistics


def wilson(hits: int, n: int) -> list[float] | None:
    """95 % Wilson interval of a rate."""
    if n == 0:
        return None
    z = 1.96
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)]


def rate(flags: Sequence[bool]) -> dict[str, Any]:
    hits = sum(flags)
    return {"n": len(flags), "hits": hits, "rate": hits / len(flags) if flags else None, "ci95": wilson(hits, len(flags))}


def spread(values: Iterable[float]) -> dict[str, Any]:
    array = np.asarray(list(values), dtype=np.float64)
    if array.size == 0:
        return {"n": 0, "p50": None, "p95": None, "mean": None, "max": None}
    return {"n": int(array.size), "p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "mean": float(array.mean()), "max": float(array.max())}


# --------------------------------------------------------------------------- the agent's timeline


@attrs.define
class Reply:
    reply_id: int
    decision_id: int
    started: float
    audio: list[tuple[float, float]] = attrs.field(factory=list)
    ended: float | None = None
    outcome: str | None = None
    cancel_requested: float | None = None
    cancel_decision: int | None = None

    @property
    def first_audio(self) -> float | None:
        return self.audio[0][0] if self.audio else None

    @property
    def played(self) -> float:
        return sum(end - start for start, end in self.audio)

    @property
    def took_turn(self) -> bool:
        return self.played >= TURN_SECONDS or (self.outcome == "finished" and bool(self.audio))

    def gap_after(self, t: float, until: float) -> float:
        """Longest silence between two of this reply's audio pieces that began within [t, until]."""
        gaps = [nxt[0] - cur[1] for cur, nxt in itertools.pairwise(self.audio) if t <= cur[1] <= until]
        return max(gaps, default=0.0)


@attrs.define
class Timeline:
    """What the session did, from its events."""

    decisions: list[Decision] = attrs.field(factory=list)
    replies: dict[int, Reply] = attrs.field(factory=dict)
    perceptions: list[Perception] = attrs.field(factory=list)
    acknowledgements: list[tuple[float, float]] = attrs.field(factory=list)
    """Audio of the agent's backchannels ("mm-hm" while the user talks), kept apart from replies."""

    @classmethod
    def of(cls, events: Iterable[tuple[float, Event]]) -> Timeline:
        timeline = cls()
        for at, event in events:
            if isinstance(event, Decision):
                timeline.decisions.append(event)
            elif isinstance(event, ReplyStarted):
                timeline.replies[event.reply_id] = Reply(event.reply_id, event.decision_id, at)
            elif isinstance(event, ReplyAudio):
                piece = (event.play_at, event.play_at + event.duration)
                if event.backchannel:
                    timeline.acknowledgements.append(piece)
                else:
                    timeline.replies[event.reply_id].audio.append(piece)
            elif isinstance(event, ReplyFinished):
                timeline.replies[event.reply_id].ended, timeline.replies[event.reply_id].outcome = at, "finished"
            elif isinstance(event, ReplyFailed):
                timeline.replies[event.reply_id].ended, timeline.replies[event.reply_id].outcome = at, "failed"
            elif isinstance(event, ReplyCancelled):
                reply = timeline.replies[event.reply_id]
                reply.ended, reply.outcome = event.carried_out_at, "cancelled"
                reply.cancel_requested, reply.cancel_decision = event.requested_at, event.decision_id
            elif isinstance(event, Perception):
                timeline.perceptions.append(event)
        return timeline

    def decided(self, action: Action, start: float, stop: float) -> list[Decision]:
        """Decisions taken in [start, stop) on audio heard after ``start`` (a lagging decision on
        earlier audio belongs to the item before)."""
        return [d for d in self.decisions if d.action is action and d.decided_at is not None
                and start <= d.decided_at < stop and (d.heard_until is None or d.heard_until > start)]

    def reply_for(self, decision: Decision) -> Reply | None:
        return next((r for r in self.replies.values() if r.decision_id == decision.id), None)

    def speaking_at(self, t: float) -> Reply | None:
        """The reply whose audio was playing (or between pieces) at ``t``."""
        for reply in self.replies.values():
            if reply.audio and reply.audio[0][0] <= t and (reply.ended is None or t < reply.ended):
                return reply
        return None

    def segments(self) -> list[tuple[float, float]]:
        """The agent's speech, merged over gaps of up to ``AGENT_MERGE_GAP``."""
        pieces = sorted(piece for reply in self.replies.values() for piece in reply.audio)
        merged: list[tuple[float, float]] = []
        for start, end in pieces:
            if merged and start - merged[-1][1] <= AGENT_MERGE_GAP:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def silent_after(self, t: float) -> float | None:
        """When the agent speech going on at ``t`` ended (None if it was not speaking)."""
        return next((end for start, end in self.segments() if start <= t < end), None)


def _at(decision: Decision | None) -> float | None:
    return decision.decided_at if decision is not None else None


def _heard(decision: Decision) -> float:
    """Stream time of the last audio a decision could use (its decision time if not stamped)."""
    return decision.heard_until if decision.heard_until is not None else (decision.decided_at or 0.0)


def _minus(a: float | None, b: float) -> float | None:
    return None if a is None else a - b


# --------------------------------------------------------------------------- per behaviour
#
# A decision is placed by the audio it rested on (heard_until): an end of turn decided on
# audio that ended inside a pause is a cut-off even when compute lag makes it arrive after
# the user went on. Latencies use the time it was taken (decided_at), compute lag included.


def score_pause(record: dict[str, Any], timeline: Timeline) -> dict[str, Any]:
    """A cut-off is an end of turn decided on audio that ended before the whole turn did.

    That covers a decision in the pause and one taken just after the user went on but
    before the agent noticed (its speech detector still confirming the new onset).
    """
    start, stop, end = record["start"], record["stop"], record["end"] - 1e-3
    responds = timeline.decided(Action.RESPOND, start, stop)
    cuts = [d for d in responds if _heard(d) < end]
    took = [r for r in timeline.replies.values() if r.first_audio is not None
            and record["onset"] <= r.first_audio < record["end"] and r.took_turn]
    after = next((d for d in responds if _heard(d) >= end), None)
    reply = timeline.reply_for(after) if after is not None else None
    return {
        **{k: record[k] for k in ("id", "clip", "pause", "fragment", "continuation")},
        "cut_off": bool(cuts),
        "cut_heard_after_pause_start": _heard(cuts[0]) - record["fragment_end"] if cuts else None,
        "cut_decision_lag": (cuts[0].decided_at or 0.0) - _heard(cuts[0]) if cuts else None,
        "took_turn": bool(took),
        "answered_after_end": after is not None,
        "respond_latency": _minus(_at(after), record["end"]),
        "first_audio_latency": _minus(reply.first_audio if reply else None, record["end"]),
        "reasons": [d.reason for d in responds],
    }


def score_opener(record: dict[str, Any], timeline: Timeline) -> dict[str, Any]:
    start = record["opener_onset"]
    stop = record.get("other_onset", record["stop"])
    end = record["opener_end"]
    responds = timeline.decided(Action.RESPOND, start, stop)
    first = next(iter(responds), None)
    after = next((d for d in responds if _heard(d) >= end - 1e-3), None)
    reply = timeline.reply_for(first) if first is not None else None
    vad_end = next((p for p in timeline.perceptions if isinstance(p, SpeechActivity) and not p.speaking
                    and p.span_end >= end - 0.3 and p.emitted_at is not None and p.emitted_at <= stop), None)
    before = after.decided_at if after is not None and after.decided_at is not None else stop
    words = [p for p in timeline.perceptions if isinstance(p, TranscriptUpdate) and p.committed.strip()
             and p.emitted_at is not None and start <= p.emitted_at <= before]
    return {
        "id": record["id"], "clip": record["opener"],
        "took_turn": bool(reply is not None and reply.first_audio is not None),
        "respond_before_end": first is not None and _heard(first) < end - 1e-3,
        "respond_latency": _minus(_at(after), end),
        "respond_heard_after_end": _minus(_heard(after), end) if after is not None else None,
        "first_audio_latency": _minus(reply.first_audio if reply else None, end),
        "vad_end_stamp": _minus(vad_end.span_end if vad_end else None, end),
        "vad_end_emitted": _minus(vad_end.emitted_at if vad_end else None, end),
        "last_words_emitted": _minus(words[-1].emitted_at if words else None, end),
        "reason": after.reason if after is not None else (first.reason if first is not None else None),
    }


def score_interrupt(record: dict[str, Any], timeline: Timeline) -> dict[str, Any]:
    onset, end = record["other_onset"], record["other_end"]
    speaking = timeline.speaking_at(onset)
    silent = timeline.silent_after(onset)
    interrupt = next(iter(timeline.decided(Action.INTERRUPT, onset, record["stop"])), None)
    responds = timeline.decided(Action.RESPOND, onset, record["stop"])
    early = next((d for d in responds if _heard(d) < end - 1e-3), None)
    respond = next((d for d in responds if _heard(d) >= end - 1e-3), None)
    reply = timeline.reply_for(respond) if respond is not None else None
    return {
        "id": record["id"], "interrupter": record["other"],
        "agent_speaking_at_onset": speaking is not None,
        "stop_latency": _minus(silent, onset),
        "stopped_by_barge_in": speaking is not None and speaking.outcome == "cancelled",
        "interrupt_decision_latency": _minus(_at(interrupt), onset),
        "interrupt_heard_after_onset": _minus(_heard(interrupt), onset) if interrupt is not None else None,
        "answered": respond is not None,
        "answered_before_user_ended": early is not None,
        "respond_latency": _minus(_at(respond), end),
        "response_latency": _minus(reply.first_audio if reply else None, end),
    }


def _stop_decision(timeline: Timeline, reply: Reply | None) -> Decision | None:
    if reply is None or reply.outcome != "cancelled":
        return None
    return next((d for d in timeline.decisions if d.id == reply.cancel_decision), None)


def score_backchannel(record: dict[str, Any], timeline: Timeline) -> dict[str, Any]:
    onset = record["other_onset"]
    reply = timeline.speaking_at(onset)
    stop = _stop_decision(timeline, reply)
    stopped = stop is not None and onset <= _heard(stop) <= onset + YIELD_WINDOW
    window = onset + YIELD_WINDOW
    paused = bool(reply is not None and not stopped
                  and reply.gap_after(onset, min(window, reply.ended or window)) >= PAUSE_GAP)
    return {
        "id": record["id"], "sound": record["other"], "label": record["label"],
        "agent_speaking_at_onset": reply is not None,
        "false_yield": stopped,
        "paused": paused,
        "answered_as_a_turn": bool(timeline.decided(Action.RESPOND, onset, record["stop"])),
        "stop_reason": stop.reason if stop is not None else None,
    }


def score_self(record: dict[str, Any], timeline: Timeline, level: float) -> dict[str, Any]:
    reply = next((r for r in timeline.replies.values() if r.started >= record["opener_onset"]), None)
    stop = _stop_decision(timeline, reply)
    after = reply.ended if reply is not None and reply.ended is not None else record["stop"]
    self_reply = bool(timeline.decided(Action.RESPOND, after, record["stop"]))
    return {"id": record["id"], "level_db": level, "false_yield": stop is not None or self_reply,
            "stopped": stop is not None, "answered_own_echo": self_reply,
            "stop_reason": stop.reason if stop is not None else None}


# --------------------------------------------------------------------------- end-of-turn curve


def eot_curve(pauses: Sequence[tuple[float, bool]], ends: Sequence[float | None],
              budgets: Sequence[float] = BUDGETS) -> list[dict[str, Any]]:
    """False cut-off rate and latency when the agent must answer within ``budget`` s of silence.

    ``pauses``: (pause length, whether the system itself ended the turn before the user's
    whole turn ended); ``ends``: the time from each true end of turn to the system's end of
    turn, compute included (None: never). With a budget, a system that has not answered by
    then answers anyway: it also cuts off every pause longer than the budget, and never
    waits longer than the budget.
    """
    rows = []
    for budget in budgets:
        cuts = [cut or budget < length for length, cut in pauses]
        waits = [min(math.inf if c is None else max(0.0, c), budget) for c in ends]
        ordered = sorted(waits)
        median = None if not waits else (float(np.median(ordered)) if math.isfinite(ordered[-1])
                                         else ordered[(len(ordered) - 1) // 2])
        rows.append({"budget": budget, "false_cutoff_rate": float(np.mean(cuts)) if cuts else None,
                     "latency_p50": None if median is None or math.isinf(median) else median,
                     "answered": sum(math.isfinite(w) for w in waits), "n_ends": len(waits), "n_pauses": len(pauses)})
    return rows


def operating_points(curve: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """eot-bench's two read-outs: latency at <= 5 % false cut-offs, false cut-offs at <= 300 ms latency."""
    under5 = [row for row in curve if row["false_cutoff_rate"] is not None and row["false_cutoff_rate"] <= 0.05
              and row["latency_p50"] is not None]
    fast = [row for row in curve if row["latency_p50"] is not None and row["latency_p50"] <= 0.3]
    return {"latency_at_5pct": min((r["latency_p50"] for r in under5), default=None),
            "cutoffs_at_300ms": min((r["false_cutoff_rate"] for r in fast), default=None)}


def perception_lag(timeline: Timeline) -> dict[str, Any]:
    """How late perceptions arrived after the audio they describe, by kind (compute lag included)."""
    out: dict[str, Any] = {}
    for kind in sorted({p.kind for p in timeline.perceptions}):
        out[kind] = spread(p.emitted_at - p.span_end for p in timeline.perceptions
                           if p.kind == kind and p.emitted_at is not None)
    words = [(u.emitted_at or 0.0) - w.end for u in timeline.perceptions if isinstance(u, TranscriptUpdate)
             for w in u.words]
    out["word_emission_delay"] = spread(words)
    return out
