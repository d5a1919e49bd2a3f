"""Timing metrics from a trace and a scene's ground truth (definitions: ``docs/metrics.md``).

:func:`score` returns a :class:`Report`: timing precision/recall/F1 of the replies
against the scene's expected-response windows at several tolerances, TimeDiff,
false triggers per hour, decision / first-token / first-audio latency percentiles,
the paper's first-chunk latency and stall rate, resume latency, cancel latency and
agent/user overlap. Every time a metric compares is on one axis: session seconds,
which equal stream seconds in a real-time-paced session (a simulation, ``run
--realtime``); a trace of a ``Pacing.FAST`` session (``run --fast``), whose session
times are wall-clock moments unrelated to the audio, is first put on the stream axis
(:func:`on_stream_axis`). A partial trace (no ``SessionEnded``, or cut mid-line) is
scored up to where it stops: expected responses it never got to are left out, and the
report says so.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np

from audiointeract.errors import ConfigurationError
from audiointeract.events import (
    Action,
    AudioReceived,
    BackendErrorEvent,
    ChunkDropped,
    Decision,
    DecisionIgnored,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
)
from audiointeract.simulators.scene import Expectation, Scene
from audiointeract.trace import Trace, TraceRecord

__all__ = [
    "TOLERANCES",
    "ExpectationResult",
    "LatencyStats",
    "ReplySpan",
    "Report",
    "Response",
    "ToleranceScore",
    "match",
    "on_stream_axis",
    "reply_spans",
    "responses",
    "score",
]

TOLERANCES: tuple[float, ...] = (0.0, 0.4, 0.8, 2.0)
_EPS = 1e-9
_SESSION_TIMES = ("at", "decided_at", "requested_at", "carried_out_at", "first_output_at", "emitted_at")
"""Event fields that hold session times (``ReplyAudio.play_at`` of a FAST session is stream time already)."""


def _clean(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


@attrs.frozen(kw_only=True)
class LatencyStats:
    """count, mean, p50/p95/p99 and max of a latency series (None when empty)."""

    count: int
    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, values: Iterable[float]) -> LatencyStats:
        """Summarise ``values`` (linear-interpolated percentiles)."""
        data = np.asarray(list(values), dtype=np.float64)
        if data.size == 0:
            return cls(count=0, mean=None, p50=None, p95=None, p99=None, max=None)
        p50, p95, p99 = (float(v) for v in np.percentile(data, [50, 95, 99]))
        return cls(count=int(data.size), mean=float(data.mean()), p50=p50, p95=p95, p99=p99, max=float(data.max()))


@attrs.frozen(kw_only=True)
class Response:
    """A RESPOND decision the session carried out (it started reply ``reply_id``)."""

    decision_id: int
    reply_id: int
    task: str | None
    decided_at: float
    heard_until: float
    first_text_at: float | None
    first_audio_at: float | None


@attrs.frozen(kw_only=True)
class ReplySpan:
    """One reply's lifetime: started, ended (finished, failed, or cancel carried out)."""

    reply_id: int
    started_at: float
    ended_at: float
    outcome: str


@attrs.frozen(kw_only=True)
class ToleranceScore:
    """Timing precision/recall/F1 at one tolerance, and TimeDiff of its matches."""

    tolerance: float
    matched: int
    responses: int
    expected: int
    precision: float
    recall: float
    f1: float
    time_diff: float | None
    false_triggers: int


@attrs.frozen(kw_only=True)
class ExpectationResult:
    """One expected response and the reply that fulfilled it (at the loosest tolerance)."""

    expectation: Expectation
    response: Response | None

    @property
    def decision_latency(self) -> float | None:
        """Evidence end -> RESPOND decided."""
        return None if self.response is None else self.response.decided_at - self.expectation.evidence_end


@attrs.frozen(kw_only=True)
class Report:
    """Every metric of one simulated session; :meth:`to_dict` is JSON-ready."""

    scene: str
    duration: float
    chunk_seconds: float
    tolerances: tuple[ToleranceScore, ...]
    false_triggers_per_hour: float | None
    quiet_hours: float
    decision_latency: LatencyStats
    first_token_latency: LatencyStats
    first_audio_latency: LatencyStats
    first_chunk_latency: LatencyStats
    stall_rate: float | None
    resume_latency: LatencyStats
    cancel_latency: LatencyStats
    barge_in_latency: LatencyStats
    overlap_seconds: float
    reply_audio_seconds: float
    decision_lag: LatencyStats
    counts: dict[str, int]
    backend_errors: dict[str, int]
    expectations: tuple[ExpectationResult, ...]
    axis: str = "session"
    """``"session"`` (real-time pacing: session time is stream time) or ``"stream"`` (a FAST trace put on it)."""
    partial: bool = False
    """The trace stops before its ``SessionEnded`` (the writer was killed, or the file was cut)."""
    scored_until: float | None = None
    """For a partial trace: where it stops, on the report's axis; nothing after it is scored."""
    left_out: int = 0
    """Expected responses of a partial trace whose windows were not over where it stops."""

    def at(self, tolerance: float) -> ToleranceScore:
        """The score at ``tolerance`` seconds."""
        for row in self.tolerances:
            if abs(row.tolerance - tolerance) < _EPS:
                return row
        raise ConfigurationError(f"no score at tolerance {tolerance}; have {[r.tolerance for r in self.tolerances]}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (NaN/inf become None)."""
        data: dict[str, Any] = attrs.asdict(self, recurse=True, value_serializer=_serialise)
        return data

    def table(self) -> str:
        """A fixed-width text table of the headline metrics."""
        lines = [f"scene {self.scene!r}: {self.duration:.1f} s of audio, chunk {self.chunk_seconds:.2f} s"]
        if self.partial:
            lines.append(
                f"partial trace: it stops at {self.scored_until or 0.0:.2f} s without a session end; scored up to "
                f"there ({self.left_out} expected response(s) after it left out)"
            )
        if self.axis == "stream":
            lines.append("fast-paced session: times are stream times (compute took no stream time)")
        lines.append("")
        lines.append(f"{'tolerance':>10} {'precision':>10} {'recall':>8} {'F1':>6} {'TimeDiff':>9} {'false':>6}")
        for row in self.tolerances:
            diff = "-" if row.time_diff is None else f"{row.time_diff:.3f}"
            lines.append(
                f"{row.tolerance:>9.1f}s {row.precision:>10.3f} {row.recall:>8.3f} {row.f1:>6.3f} {diff:>9} "
                f"{row.false_triggers:>6}"
            )
        lines.append("")
        lines.append(f"{'latency (s)':<26} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
        for title, stats in (
            ("decision (evidence->RESPOND)", self.decision_latency),
            ("first reply token", self.first_token_latency),
            ("first reply audio", self.first_audio_latency),
            ("first-chunk (FCL)", self.first_chunk_latency),
            ("resume after reply", self.resume_latency),
            ("cancel carried out", self.cancel_latency),
            ("barge-in -> stopped", self.barge_in_latency),
            ("decision lag (stream)", self.decision_lag),
        ):
            lines.append(
                f"{title:<26.26} {stats.count:>4} {_fmt(stats.p50):>7} {_fmt(stats.p95):>7} "
                f"{_fmt(stats.p99):>7} {_fmt(stats.max):>7}"
            )
        lines.append("")
        stall = "-" if self.stall_rate is None else f"{100 * self.stall_rate:.1f}%"
        per_hour = "-" if self.false_triggers_per_hour is None else f"{self.false_triggers_per_hour:.1f}"
        lines.append(f"stall rate {stall}; false triggers/hour {per_hour}; "
                     f"overlap {self.overlap_seconds:.2f} s of {self.reply_audio_seconds:.2f} s reply audio")
        counts = ", ".join(f"{key} {value}" for key, value in self.counts.items())
        lines.append(counts)
        if self.backend_errors:
            lines.append("backend errors: " + ", ".join(f"{k} {v}" for k, v in self.backend_errors.items()))
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _serialise(_: Any, __: Any, value: Any) -> Any:
    if isinstance(value, float):
        return _clean(value)
    return value


def responses(trace: Trace) -> list[Response]:
    """The RESPOND decisions that started a reply, with each reply's first outputs."""
    decisions = {d.id: d for d in trace.of_type(Decision) if d.action is Action.RESPOND}
    first_text: dict[int, float] = {}
    for text in trace.of_type(ReplyText):
        first_text.setdefault(text.reply_id, text.at)
    first_audio: dict[int, float] = {}
    for audio in trace.of_type(ReplyAudio):
        first_audio.setdefault(audio.reply_id, audio.play_at)
    out = []
    for started in trace.of_type(ReplyStarted):
        decision = decisions.get(started.decision_id)
        if decision is None or decision.decided_at is None:
            continue
        out.append(
            Response(
                decision_id=started.decision_id,
                reply_id=started.reply_id,
                task=decision.task,
                decided_at=decision.decided_at,
                heard_until=decision.heard_until or 0.0,
                first_text_at=first_text.get(started.reply_id),
                first_audio_at=first_audio.get(started.reply_id),
            )
        )
    return out


def reply_spans(trace: Trace) -> list[ReplySpan]:
    """Every reply that ended, in start order."""
    starts = {s.reply_id: s.at for s in trace.of_type(ReplyStarted)}
    ends: list[tuple[int, float, str]] = [
        *((e.reply_id, e.at, "finished") for e in trace.of_type(ReplyFinished)),
        *((e.reply_id, e.at, "failed") for e in trace.of_type(ReplyFailed)),
        *((e.reply_id, e.carried_out_at, "cancelled") for e in trace.of_type(ReplyCancelled)),
    ]
    spans = [
        ReplySpan(reply_id=reply, started_at=starts[reply], ended_at=end, outcome=outcome)
        for reply, end, outcome in ends
        if reply in starts
    ]
    return sorted(spans, key=lambda span: (span.started_at, span.reply_id))


def match(
    expected: Sequence[Expectation], made: Sequence[Response], tolerance: float
) -> list[tuple[Expectation, Response]]:
    """Match responses to expectations one to one, within ``tolerance``.

    A response fulfils an expectation of its task when
    ``window_start <= decided_at <= window_end + tolerance``. Responses are
    taken in time order and each goes to the open eligible window that closes
    first, which gives a maximum matching for points and intervals. A response
    with no task may fulfil any task.
    """
    pending = sorted(expected, key=lambda e: (e.window_start, e.window_end, e.segment))
    open_: list[Expectation] = []
    pairs = []
    position = 0
    for response in sorted(made, key=lambda r: (r.decided_at, r.decision_id)):
        t = response.decided_at
        while position < len(pending) and pending[position].window_start - _EPS <= t:
            open_.append(pending[position])
            position += 1
        open_ = [e for e in open_ if t <= e.window_end + tolerance + _EPS]  # closed windows never reopen
        eligible = [e for e in open_ if response.task is None or response.task == e.task]
        if eligible:
            chosen = min(eligible, key=lambda e: (e.window_end, e.window_start, e.segment))
            open_.remove(chosen)
            pairs.append((chosen, response))
    return pairs


def _prf(matched: int, made: int, expected: int) -> tuple[float, float, float]:
    precision = matched / made if made else 1.0
    recall = matched / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def _union_length(spans: Iterable[tuple[float, float]], lo: float, hi: float) -> float:
    total, cursor = 0.0, lo
    for span_start, span_end in sorted(spans):
        start, end = max(span_start, cursor), min(span_end, hi)
        if end > start:
            total += end - start
            cursor = end
    return total


def _merged(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _overlap(a: Iterable[tuple[float, float]], b: Iterable[tuple[float, float]]) -> float:
    """Seconds covered by both span sets (each merged first), by a linear sweep."""
    left, right = _merged(a), _merged(b)
    total, i, j = 0.0, 0, 0
    while i < len(left) and j < len(right):
        total += max(0.0, min(left[i][1], right[j][1]) - max(left[i][0], right[j][0]))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return total


def on_stream_axis(trace: Trace) -> Trace:
    """The trace with every session time replaced by the stream time heard at that moment.

    For a ``Pacing.FAST`` session, whose session times are wall-clock moments: its chunks
    enter in lock-step with the decisions, so the stream position heard is the time
    that lines up with the scene (a decision's time becomes its ``heard_until``).
    """
    ats = [record.at for record in trace]
    heards = [record.heard for record in trace]

    def stream(at: float) -> float:
        position = bisect_right(ats, at + _EPS) - 1
        return heards[position] if position >= 0 else 0.0

    records = []
    for record in trace:
        event = record.event
        changes = {
            name: stream(value)
            for name in _SESSION_TIMES
            if isinstance(value := getattr(event, name, None), float)
        }
        records.append(
            TraceRecord(seq=record.seq, at=record.heard, heard=record.heard,
                        event=attrs.evolve(event, **changes) if changes else event)  # type: ignore[arg-type]
        )
    return Trace(records=records, meta=trace.meta, truncated=trace.truncated)


def _chunk_seconds(value: object) -> float:
    """The trace's chunk length, from its (untrusted) header."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 60:
        raise ConfigurationError(f"the trace's meta chunk_seconds must be a number of seconds, got {value!r}")
    return float(value)


def _observed(
    expected: Sequence[Expectation], made: Sequence[Response], until: float, tolerance: float
) -> list[Expectation]:
    """The expectations a partial trace can be scored on: over before it stops, or already answered."""
    answered = {id(e) for e, _ in match(expected, made, tolerance)}
    return [e for e in expected if e.window_end + tolerance <= until + _EPS or id(e) in answered]


def score(trace: Trace, scene: Scene | None = None, *, tolerances: Sequence[float] = TOLERANCES) -> Report:
    """Score a trace against a scene (default: the scene stored in ``trace.meta['scene']``)."""
    if scene is None:
        stored = trace.meta.get("scene")
        if not isinstance(stored, dict):
            raise ConfigurationError("the trace holds no scene in its meta; pass the scene explicitly")
        scene = Scene.from_dict(stored)
    fast = trace.meta.get("pacing") == "fast"
    complete = trace.complete
    if fast:
        trace = on_stream_axis(trace)
    chunk = _chunk_seconds(trace.meta.get("chunk_seconds", 0.4))
    made = responses(trace)
    loosest = max(tolerances) if tolerances else 0.0
    expected: Sequence[Expectation] = scene.expectations(chunk)
    duration = scene.duration
    until = None
    left_out = 0
    if not complete:
        until = trace.records[-1].at if trace.records else 0.0
        observed = _observed(expected, made, until, loosest)
        left_out = len(expected) - len(observed)
        expected = observed
        duration = min(duration, until)

    rows = []
    for tolerance in sorted(tolerances):
        pairs = match(expected, made, tolerance)
        precision, recall, f1 = _prf(len(pairs), len(made), len(expected))
        diffs = [abs(r.decided_at - e.reference) for e, r in pairs]
        rows.append(
            ToleranceScore(
                tolerance=tolerance,
                matched=len(pairs),
                responses=len(made),
                expected=len(expected),
                precision=precision,
                recall=recall,
                f1=f1,
                time_diff=float(np.mean(diffs)) if diffs else None,
                false_triggers=len(made) - len(pairs),
            )
        )
    pairs = match(expected, made, loosest)
    by_expectation = {id(e): r for e, r in pairs}
    results = tuple(ExpectationResult(expectation=e, response=by_expectation.get(id(e))) for e in expected)
    quiet = duration - _union_length(
        ((e.window_start, e.window_end + loosest) for e in expected), 0.0, duration
    )
    false_triggers = len(made) - len(pairs)

    first_chunk, stalls, received = _chunk_latencies(trace, chunk)
    cancels = trace.of_type(ReplyCancelled)
    audio_spans = _reply_audio_spans(trace, cancels)
    user_speech = scene.speech_spans("user")
    counts = {
        "chunks": received,
        "chunks_dropped": len(trace.of_type(ChunkDropped)),
        "decisions": len(trace.of_type(Decision)),
        "responses": len(made),
        "decisions_ignored": len(trace.of_type(DecisionIgnored)),
        "replies_finished": len(trace.of_type(ReplyFinished)),
        "replies_cancelled": len(cancels),
        "replies_failed": len(trace.of_type(ReplyFailed)),
        "expected": len(expected),
    }
    errors: dict[str, int] = {}
    for error in trace.of_type(BackendErrorEvent):
        errors[error.component] = errors.get(error.component, 0) + 1
    return Report(
        scene=scene.name,
        duration=duration,
        chunk_seconds=chunk,
        tolerances=tuple(rows),
        false_triggers_per_hour=false_triggers / (quiet / 3600) if quiet > _EPS else None,
        quiet_hours=quiet / 3600,
        decision_latency=LatencyStats.of(r.decided_at - e.evidence_end for e, r in pairs),
        first_token_latency=LatencyStats.of(
            r.first_text_at - e.evidence_end for e, r in pairs if r.first_text_at is not None
        ),
        first_audio_latency=LatencyStats.of(
            r.first_audio_at - e.evidence_end for e, r in pairs if r.first_audio_at is not None
        ),
        first_chunk_latency=LatencyStats.of(first_chunk),
        stall_rate=stalls / received if received else None,
        resume_latency=LatencyStats.of(_resume_latencies(trace)),
        cancel_latency=LatencyStats.of(c.carried_out_at - c.requested_at for c in cancels if c.decision_id is not None),
        barge_in_latency=LatencyStats.of(_barge_in_latencies(trace, cancels, user_speech)),
        overlap_seconds=_overlap(audio_spans, user_speech),
        reply_audio_seconds=sum(end - start for start, end in audio_spans),
        decision_lag=LatencyStats.of(
            r.heard - r.event.heard_until
            for r in trace
            if isinstance(r.event, Decision) and r.event.heard_until is not None
        ),
        counts=counts,
        backend_errors=errors,
        expectations=results,
        axis="stream" if fast else "session",
        partial=not complete,
        scored_until=until,
        left_out=left_out,
    )


def _chunk_latencies(trace: Trace, chunk: float) -> tuple[list[float], int, int]:
    """FCL of every chunk, the number of stalled chunks, and the number received."""
    arrivals = trace.of_type(AudioReceived)
    dropped = {d.index for d in trace.of_type(ChunkDropped)}
    decisions = sorted(
        (d.heard_until, d.decided_at)
        for d in trace.of_type(Decision)
        if d.heard_until is not None and d.decided_at is not None
    )
    # earliest decision time covering each stream position: suffix minimum of decided_at
    ends = np.asarray([h for h, _ in decisions], dtype=np.float64)  # once: searching a list converts it per call
    earliest = [t for _, t in decisions]
    for i in range(len(earliest) - 2, -1, -1):
        earliest[i] = min(earliest[i], earliest[i + 1])
    latencies: list[float] = []
    stalls = 0
    for arrival in arrivals:
        if arrival.index in dropped:
            stalls += 1
            continue
        position = int(np.searchsorted(ends, arrival.span_end - _EPS))
        if position >= len(ends):
            stalls += 1
            continue
        latency = earliest[position] - arrival.at
        latencies.append(latency)
        if latency > chunk + _EPS:
            stalls += 1
    return latencies, stalls, len(arrivals)


def _resume_latencies(trace: Trace) -> list[float]:
    """For each reply end, the wait until the next decision."""
    ends = sorted(span.ended_at for span in reply_spans(trace))
    times = sorted(d.decided_at for d in trace.of_type(Decision) if d.decided_at is not None)
    out = []
    for end in ends:
        position = int(np.searchsorted(times, end - _EPS))
        if position < len(times):
            out.append(times[position] - end)
    return out


def _reply_audio_spans(trace: Trace, cancels: Sequence[ReplyCancelled]) -> list[tuple[float, float]]:
    """Reply audio as played: ``[play_at, play_at + duration]`` cut at the cancel carried out."""
    stop = {c.reply_id: c.carried_out_at for c in cancels}
    spans = []
    for audio in trace.of_type(ReplyAudio):
        end = min(audio.play_at + audio.duration, stop.get(audio.reply_id, math.inf))
        if end > audio.play_at:
            spans.append((audio.play_at, end))
    return spans


def _barge_in_latencies(
    trace: Trace, cancels: Sequence[ReplyCancelled], speech: Sequence[tuple[float, float]]
) -> list[float]:
    """User speech onset during a reply -> that reply's cancel carried out."""
    started = {s.reply_id: s.at for s in trace.of_type(ReplyStarted)}
    out = []
    for cancel in cancels:
        if cancel.decision_id is None or cancel.reply_id not in started:
            continue
        onsets = [s for s, _ in speech if started[cancel.reply_id] - _EPS <= s <= cancel.carried_out_at]
        if onsets:
            out.append(cancel.carried_out_at - min(onsets))
    return out
