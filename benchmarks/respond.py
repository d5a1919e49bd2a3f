"""Reply latency of the embedded default, stage by stage, from the end of the user's speech in the audio.

usage: python benchmarks/respond.py [--turns 22] [--barge-ins 5] [--voice auto] [--lm-threads 1]
                                    [--niceness 5] [--asr-threads N] [--no-speculate] [--note TEXT]
                                    [--out benchmarks/results/respond.json]

One real-time session with the registry defaults (``--perceiver/--decider/--responder``,
default ``default``) listens to a simulated user. The user asks a question, waits until the
reply has ended, pauses, and asks the next one. In the barge-in trials the user asks for a
story and, 0.8 s after its first audio, speaks over it with a real recording (LibriVox read
speech or an Asterisk prompt).

The questions are a held-out set: :data:`QUESTIONS` are asked nowhere else in the project
(not in the demo, the tests, the policies' training templates or the turn-taking items),
read by the piper voice (``tts:`` clips, rendered deterministically); two real recordings
(Asterisk's "Which folder should I save the message to?" and "Change to which folder?") are
asked too. The set is frozen: its SHA-256 is :data:`QUESTIONS_SHA256` and the benchmark
stops if the list changes.

Every time is the session clock (the wall clock under real-time pacing), measured from the
end of the user's speech in the audio (the stream time of the question's last 20 ms frame
above -40 dBFS), never from a detector's event. Stages of each answered turn:

* ``end heard``: the speech detector's end of speech reached the session;
* ``decision``: the RESPOND decision;
* ``first token``: the LM's first generated token (earlier than the decision when the
  reply was written ahead);
* ``first phrase ready``: the first phrase's audio was synthesised;
* ``first audio``: the reply's first audio plays.

``speculation`` counts replies written ahead (started, used, discarded); every one discarded
must appear in the trace as a ``SpeculationEnded`` (checked). ``perceiver lag`` is how long
after its last sample was heard each chunk was perceived, over the chunks heard while a
reply (or a reply written ahead) was being generated; ``decision latency`` is the session's
chunk arrival -> decision. The load average is sampled every 5 s. Barge-in rows: INTERRUPT
-> reply cancelled, INTERRUPT -> end of the last audio piece scheduled, and what the user
feels: the interrupter's onset in the audio -> that same end of the reply audio.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import time
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import attrs
import numpy as np
import numpy.typing as npt
import torch

from audiointeract import Pacing, Session, SessionConfig
from audiointeract.audio import AudioChunk, FloatArray, resample
from audiointeract.clock import Clock, LoopClock
from audiointeract.events import (
    Action,
    AudioDelta,
    Decision,
    Event,
    Perception,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ResponseDelta,
    ResponseRequest,
    SpeculationEnded,
    SpeculationStarted,
    SpeechActivity,
    TextDelta,
)
from audiointeract.interfaces import AudioSource, Observer, Perceiver, Responder
from audiointeract.registry import load_backend
from audiointeract.simulators.clips import default_bank

RATE = 16000
BLOCK = RATE // 10
QUESTIONS = (
    "What is the capital of Japan?",
    "How many hours are there in a day?",
    "What is the freezing point of water?",
    "Who invented the telephone?",
    "How many continents are there?",
    "What is the largest ocean on Earth?",
    "Can you tell me a fun fact about cats?",
    "What is the square root of sixteen?",
    "How do you say good morning in French?",
    "What is the main ingredient in guacamole?",
    "Which planet is closest to the sun?",
    "How many players are on a soccer team?",
    "What is the chemical symbol for gold?",
    "Can you suggest a name for a puppy?",
    "What is the longest river in the world?",
    "How many sides does a hexagon have?",
    "What does a caterpillar turn into?",
    "Who was the first person to walk on the moon?",
    "What color is an emerald?",
    "Can you give me a tip for sleeping better?",
)
QUESTIONS_SHA256 = "6fa33eb396db275e4e4fa46dcc99e213dafa24fbdabe50d3810c3eac0c3685e8"  # frozen before any tuning
REAL_QUESTIONS = ("asterisk:vm-savefolder", "asterisk:vm-changeto")
STORY = "Can you tell me a long story about a brave knight and a dragon?"
INTERRUPTERS = (
    "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0880",
    "asterisk:conf-getpin",
    "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0930",
    "asterisk:vm-goodbye",
    "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0890",
)
GAP = 1.0
NO_REPLY_TIMEOUT = 8.0
AUDIO_TIMEOUT = 20.0
BARGE_DELAY = 0.8
TARGETS = {
    "first_audio": "p50 <= 0.8, p95 <= 1.5",
    "audio_stopped": "<= 0.150",
    "onset_to_silent": "p50 <= 0.35, p95 <= 0.6",
    "perceiver_lag": "max <= 0.5",
}


def questions_checksum() -> str:
    return hashlib.sha256("\n".join(QUESTIONS).encode()).hexdigest()


# ----------------------------------------------------------------------------- the user's audio


@attrs.frozen
class Utterance:
    label: str
    kind: str  # "real" or "piper"
    samples: FloatArray
    speech_start: float  # seconds into samples where speech begins / ends (-40 dBFS)
    speech_end: float
    sha256: str


def speech_bounds(samples: FloatArray) -> tuple[float, float]:
    frame = RATE // 50
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    loud = np.flatnonzero(20 * np.log10(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)) + 1e-12) > -40)
    if loud.size == 0:
        return 0.0, samples.size / RATE
    return loud[0] * frame / RATE, (loud[-1] + 1) * frame / RATE


def utterance(label: str, clip: str) -> Utterance:
    samples, rate = default_bank().load(clip)
    audio = resample(np.asarray(samples, dtype=np.float32), rate, RATE)
    start, end = speech_bounds(audio)
    kind = "piper" if clip.startswith("tts:") else "real"
    return Utterance(label=label, kind=kind, samples=audio, speech_start=start, speech_end=end,
                     sha256=hashlib.sha256(audio.tobytes()).hexdigest())


def build_turns(count: int, barge_ins: int) -> list[Turn]:
    real = [utterance(clip, clip) for clip in REAL_QUESTIONS]
    spoken = [utterance(text, f"tts:{text}") for text in QUESTIONS]
    questions = (spoken + real)[:count] if count <= len(spoken) + len(real) else spoken + real
    order = np.random.default_rng(0).permutation(len(questions))
    turns = [Turn(utterance=questions[i], barge_in=None) for i in order]
    story = utterance(STORY, f"tts:{STORY}")
    turns += [Turn(utterance=story, barge_in=utterance(clip, clip)) for clip in INTERRUPTERS[:barge_ins]]
    return turns


@attrs.define
class Turn:
    utterance: Utterance
    barge_in: Utterance | None
    start: float = 0.0  # stream time the question starts
    speech_end: float = 0.0
    barge_start: float | None = None
    end: float | None = None  # stream time this turn's window closes


class User(AudioSource, Observer):
    """A simulated user: speaks each turn once the previous reply has ended (reacts to session events)."""

    def __init__(self, turns: list[Turn], clock: Clock) -> None:
        self.turns = turns
        self._clock = clock
        self.origin: float | None = None
        """Clock time of session time 0 (read at the first event)."""
        self.events: list[tuple[float, Event]] = []
        self.reply_active = False
        self.reply_ended_at = 0.0
        self.first_audio_at: float | None = None
        self.replies_seen = 0
        self.samples_out = 0

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if self.origin is None:
            self.origin = self._clock.now() - at
        self.events.append((at, event))
        if isinstance(event, ReplyStarted):
            self.reply_active, self.first_audio_at = True, None
            self.replies_seen += 1
        elif isinstance(event, ReplyAudio) and not event.backchannel and self.first_audio_at is None:
            self.first_audio_at = event.play_at
        elif isinstance(event, (ReplyFinished, ReplyCancelled, ReplyFailed)):
            self.reply_active, self.reply_ended_at = False, at

    @property
    def now(self) -> float:
        return self.samples_out / RATE

    async def _say(self, samples: FloatArray) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        for offset in range(0, samples.size, BLOCK):
            block = samples[offset : offset + BLOCK]
            self.samples_out += block.size
            yield block, RATE

    async def _silence_while(self, condition: Callable[[], bool]) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        silence = np.zeros(BLOCK, np.float32)
        while condition():
            self.samples_out += BLOCK
            yield silence, RATE

    def _before_barge_in(self, seen: int, deadline: float) -> bool:
        """Still waiting to speak over the reply: its first audio plus BARGE_DELAY (or give up at deadline)."""
        playing = self.replies_seen > seen and self.first_audio_at is not None
        return self.now < deadline and not (playing and self.now >= (self.first_audio_at or 0.0) + BARGE_DELAY)

    def _awaiting_reply(self, seen: int, deadline: float) -> bool:
        """A reply is in flight, or none has started yet and the deadline has not passed."""
        return self.reply_active or (self.replies_seen == seen and self.now < deadline)

    def _pausing(self) -> bool:
        return self.reply_active or self.now < self.reply_ended_at + GAP

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        async for block in self._silence_while(lambda: self.now < 1.0):
            yield block
        for turn in self.turns:
            async for block in self._silence_while(self._pausing):
                yield block
            turn.start = self.now
            turn.speech_end = turn.start + turn.utterance.speech_end
            seen = self.replies_seen
            async for block in self._say(turn.utterance.samples):
                yield block
            if turn.barge_in is not None:
                async for block in self._silence_while(partial(self._before_barge_in, seen, self.now + AUDIO_TIMEOUT)):
                    yield block
                if self.reply_active and self.first_audio_at is not None:
                    turn.barge_start = self.now + turn.barge_in.speech_start
                    async for block in self._say(turn.barge_in.samples):
                        yield block
            async for block in self._silence_while(partial(self._awaiting_reply, seen, self.now + NO_REPLY_TIMEOUT)):
                yield block
            turn.end = self.now
        async for block in self._silence_while(lambda: self.reply_active):
            yield block


# ----------------------------------------------------------------------------- instruments


class TimedPerceiver(Perceiver):
    """The perceiver under test, recording when each chunk's perception was done (session clock)."""

    def __init__(self, inner: Perceiver, clock: Clock) -> None:
        self.inner = inner
        self.name = inner.name
        self._clock = clock
        self.done: list[tuple[float, float]] = []  # (chunk end in stream time, clock time perceived)

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        out = await self.inner.perceive(chunk)
        self.done.append((chunk.end_time, self._clock.now()))
        return out

    async def check(self) -> None:
        await self.inner.check()

    async def finish(self) -> Sequence[Perception]:
        return await self.inner.finish()

    async def reset(self) -> None:
        await self.inner.reset()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def lags(self, origin: float) -> list[tuple[float, float]]:
        """(session time, lag) per chunk: when it was perceived minus when its last sample was heard.

        Under real-time pacing a chunk enters the session at its end's stream time, which is session time.
        """
        return [(at - origin, at - origin - end) for end, at in self.done]


@attrs.define
class Call:
    """One ``respond`` call of the responder under test (a reply, or a reply written ahead)."""

    reply_id: int
    started: float
    first_text: float | None = None
    first_audio: float | None = None
    first_token: float | None = None
    ended: float | None = None
    tokens_per_second: float | None = None
    cached_tokens: int = 0


class TimedResponder(Responder):
    """The responder under test, recording when each call produced its first text and audio."""

    def __init__(self, inner: Responder, clock: Clock) -> None:
        self.inner = inner
        self.name = inner.name
        self.first_output_timeout = inner.first_output_timeout
        self._clock = clock
        self.calls: list[Call] = []
        self._model = getattr(inner, "inner", inner)

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        call = Call(reply_id=request.reply_id, started=self._clock.now())
        self.calls.append(call)
        try:
            async with contextlib.aclosing(self.inner.respond(request)) as deltas:  # type: ignore[type-var]
                async for delta in deltas:
                    if isinstance(delta, TextDelta) and call.first_text is None:
                        call.first_text = self._clock.now()
                    if isinstance(delta, AudioDelta) and call.first_audio is None:
                        call.first_audio = self._clock.now()
                    yield delta
        finally:
            call.ended = self._clock.now()
            stats = getattr(self._model, "last_statistics", None)
            if stats is not None and getattr(stats, "started", -1.0) >= call.started:
                if stats.time_to_first_token is not None:
                    call.first_token = stats.started + stats.time_to_first_token
                call.tokens_per_second = stats.tokens_per_second
                call.cached_tokens = stats.cached_tokens

    async def acknowledgement(self, text: str) -> AudioDelta | None:
        return await self.inner.acknowledgement(text)

    async def check(self) -> None:
        await self.inner.check()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def to_session_time(self, origin: float) -> None:
        """Make every recorded clock time a session time (``origin``: clock time of session time 0)."""
        for call in self.calls:
            call.started -= origin
            for name in ("first_text", "first_audio", "first_token", "ended"):
                value = getattr(call, name)
                if value is not None:
                    setattr(call, name, value - origin)

    def call_for(self, reply_id: int, started_at: float) -> Call | None:
        """The call whose output a reply started at ``started_at`` played (the latest one begun by then)."""
        begun = [c for c in self.calls if c.reply_id == reply_id and c.started <= started_at + 0.05]
        return begun[-1] if begun else None


async def sample_load(into: list[float], every: float = 5.0) -> None:
    clock = LoopClock()
    while True:
        into.append(os.getloadavg()[0])
        await clock.sleep(every)


# ----------------------------------------------------------------------------- analysis


STAGES = ("end_heard", "decision", "first_token", "first_phrase", "first_audio", "reply_first_audio",
          "model_ttft", "tokens_per_second", "barge_detect", "cancel_carried_out", "audio_stopped", "onset_to_silent")


def percentiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    array = np.asarray(values)
    return {"n": len(values), "p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "max": float(array.max())}


def analyse_turn(turn: Turn, window: list[tuple[float, Event]], responder: TimedResponder) -> dict[str, Any]:
    end = turn.speech_end
    record: dict[str, Any] = {"utterance": turn.utterance.label, "kind": turn.utterance.kind,
                              "barge_in": turn.barge_in.label if turn.barge_in else None, "responded": False}
    heard = next((at for at, e in window if isinstance(e, SpeechActivity) and not e.speaking
                  and e.span_end >= end - 0.3), None)
    if heard is not None:
        record["end_heard"] = heard - end
    respond = next((e for _, e in window if isinstance(e, Decision) and e.action is Action.RESPOND
                    and e.decided_at is not None and e.decided_at >= end - 0.5), None)
    if respond is None or respond.decided_at is None:
        return record
    record.update(responded=True, decision=respond.decided_at - end)
    started = next((e for _, e in window if isinstance(e, ReplyStarted) and e.decision_id == respond.id), None)
    if started is None:
        return record
    rid = started.reply_id
    record["written_ahead"] = any(isinstance(e, SpeculationEnded) and e.reply_id == rid and e.used
                                  for _, e in window)
    call = responder.call_for(rid, started.at)
    if call is not None:
        record["model_ttft"] = None if call.first_token is None else call.first_token - call.started
        record["tokens_per_second"] = call.tokens_per_second
        record["cached_prompt_tokens"] = call.cached_tokens
        if call.first_token is not None:
            record["first_token"] = call.first_token - end
        if call.first_audio is not None:
            record["first_phrase"] = call.first_audio - end
    audio = [e for _, e in window if isinstance(e, ReplyAudio) and e.reply_id == rid and not e.backchannel]
    if audio:
        record["first_audio"] = audio[0].play_at - end
        record["reply_first_audio"] = audio[0].play_at - respond.decided_at
    finished = next((e for _, e in window if isinstance(e, ReplyFinished) and e.reply_id == rid), None)
    if finished is not None:
        record["reply"] = finished.text
    if turn.barge_in is not None:
        cancel = next((e for _, e in window if isinstance(e, ReplyCancelled) and e.reply_id == rid), None)
        interrupt = next((e for _, e in window if isinstance(e, Decision) and cancel is not None
                          and e.id == cancel.decision_id), None)
        if interrupt is not None and cancel is not None and interrupt.decided_at is not None:
            scheduled_end = max((a.play_at + a.duration for a in audio), default=interrupt.decided_at)
            record.update(
                barge_detect=interrupt.decided_at - (turn.barge_start or interrupt.decided_at),
                cancel_carried_out=cancel.carried_out_at - interrupt.decided_at,
                audio_stopped=max(0.0, scheduled_end - interrupt.decided_at),
                onset_to_silent=None if turn.barge_start is None
                else max(scheduled_end, interrupt.decided_at) - turn.barge_start,
            )
    return record


def generating_spans(responder: TimedResponder, until: float) -> list[tuple[float, float]]:
    """Session-time spans in which the responder was producing a reply (or one written ahead)."""
    return [(c.started, c.ended if c.ended is not None else until) for c in responder.calls]


def speculation(events: list[tuple[float, Event]]) -> dict[str, Any]:
    started = [e for _, e in events if isinstance(e, SpeculationStarted)]
    ended = [e for _, e in events if isinstance(e, SpeculationEnded)]
    discarded = [e for e in ended if not e.used]
    reasons: dict[str, int] = {}
    for e in discarded:
        reasons[e.reason] = reasons.get(e.reason, 0) + 1
    unended = len(started) - len(ended)
    decided = [e.decided_at for _, e in events if isinstance(e, Decision) and e.decided_at is not None]
    # a discard is carried out when the reply's model and voice threads have stopped (SpeculationEnded)
    stopping = [e.at - max((d for d in decided if d <= e.at), default=e.at) for e in discarded]
    return {"started": len(started), "used": sum(e.used for e in ended), "discarded": len(discarded),
            "discard_reasons": reasons, "every_discard_traced": unended == 0,
            "discard_to_stopped": percentiles(stopping)}


def analyse(user: User, responder: TimedResponder, perceiver: TimedPerceiver) -> dict[str, Any]:
    turns, events = user.turns, user.events
    origin = user.origin or 0.0
    responder.to_session_time(origin)
    rows: dict[str, list[float]] = {key: [] for key in STAGES}
    per_turn = []
    for turn in turns:
        window = [(at, e) for at, e in events if turn.start <= at < (turn.end or float("inf"))]
        record = analyse_turn(turn, window, responder)
        for key, values in rows.items():
            skip = turn.barge_in is not None and key in ("first_token", "first_phrase", "first_audio",
                                                         "reply_first_audio")
            if record.get(key) is not None and not skip:
                values.append(float(record[key]))
        per_turn.append(record)
    summary = {key: percentiles(values) for key, values in rows.items()}
    spans = generating_spans(responder, events[-1][0] if events else 0.0)
    lags = perceiver.lags(origin)
    during = [lag for at, lag in lags if any(a <= at - lag <= b for a, b in spans)]
    summary["perceiver_lag"] = percentiles(during)
    summary["perceiver_lag_all"] = percentiles([lag for _, lag in lags])
    missed = [
        {"utterance": r["utterance"], "why": "no RESPOND" if not r["responded"] else "no reply audio"}
        for r in per_turn if r["barge_in"] is None and (not r["responded"] or r.get("first_audio") is None)
    ]
    return {"summary": summary, "speculation": speculation(events), "missed": missed, "turns": per_turn}


# ----------------------------------------------------------------------------- report


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(result: dict[str, Any]) -> str:
    summary = result["summary"]
    names = [
        ("end_heard", "end of speech -> end heard (VAD) (s)"),
        ("decision", "end of speech -> RESPOND decision (s)"),
        ("first_token", "end of speech -> first LM token (s)"),
        ("first_phrase", "end of speech -> first phrase ready (s)"),
        ("first_audio", "end of speech -> first reply audio (s)"),
        ("reply_first_audio", "RESPOND decision -> first reply audio (s)"),
        ("model_ttft", "responder call -> first LM token (s)"),
        ("tokens_per_second", "reply decode rate (tokens/s)"),
        ("perceiver_lag", "perceiver lag while generating (s)"),
        ("perceiver_lag_all", "perceiver lag, whole session (s)"),
        ("barge_detect", "interrupter speech start -> INTERRUPT (s)"),
        ("cancel_carried_out", "INTERRUPT -> reply cancelled (s)"),
        ("audio_stopped", "INTERRUPT -> audio stopped (s)"),
        ("onset_to_silent", "user onset (audio) -> agent audio silent (s)"),
    ]
    lines = [f"{'metric':<46} {'n':>3} {'p50':>8} {'p95':>8} {'max':>8}  target", "-" * 90]
    for key, label in names:
        row = summary[key]
        cells = " ".join(f"{row[k]:8.3f}" if row[k] is not None else f"{'-':>8}" for k in ("p50", "p95", "max"))
        lines.append(f"{label:<46} {row['n']:>3} {cells}  {TARGETS.get(key, '')}")
    spec = result["speculation"]
    session = result["session"]
    lines += [
        "",
        (f"replies written ahead: {spec['started']} started, {spec['used']} used, {spec['discarded']} discarded "
        f"{spec['discard_reasons']}; every discard traced: {spec['every_discard_traced']}"),
        (f"discard -> its threads stopped (s): p50 {seconds(spec['discard_to_stopped']['p50'])}, "
        f"max {seconds(spec['discard_to_stopped']['max'])}"),
        (f"decision latency (chunk arrival -> decision): p50 {session['decision_latency_p50']:.3f} s, "
        f"p95 {session['decision_latency_p95']:.3f} s"),
        f"missed: {result['missed'] or 'none'}",
    ]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    turns = build_turns(args.turns, args.barge_ins)
    started = time.perf_counter()
    clock = LoopClock()
    perceiver_options = {"asr": {"cpu_threads": args.asr_threads}} if args.asr_threads else {}
    perceiver = TimedPerceiver(load_backend("perceiver", args.perceiver, **perceiver_options), clock)
    decider = load_backend("decider", args.decider)
    options = ({"voice": args.voice, "threads": args.lm_threads or None, "niceness": args.niceness}
               if args.responder == "default" else {})
    responder = TimedResponder(load_backend("responder", args.responder, **options), clock)
    load_seconds = time.perf_counter() - started
    user = User(turns, clock)
    config = SessionConfig(pacing=Pacing.REALTIME, speculate=not args.no_speculate)
    session = Session(perceiver, decider, responder, config=config, observers=[user], clock=clock)
    load: list[float] = []
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        group.start_soon(sample_load, load)
        await session.run(user)
        group.cancel_scope.cancel()
    wall = time.perf_counter() - started
    for backend in (perceiver, decider, responder):
        await backend.aclose()
    result = analyse(user, responder, perceiver)
    stats = session.statistics()
    result["session"] = {
        "audio_seconds": stats.heard_until, "wall_seconds": wall, "load_seconds": load_seconds,
        "decisions": dict(stats.decisions), "replies_started": stats.replies_started,
        "replies_finished": stats.replies_finished, "replies_cancelled": stats.replies_cancelled,
        "speculations_started": stats.speculations_started, "speculations_used": stats.speculations_used,
        "speculations_discarded": stats.speculations_discarded, "max_perceiver_lag_audio": stats.max_perceiver_lag,
        "decision_latency_p50": stats.decision_latency.p50, "decision_latency_p95": stats.decision_latency.p95,
        "chunks_dropped": stats.chunk_queue.dropped,
    }
    result["load_average"] = {"samples": load, "mean": float(np.mean(load)) if load else None,
                              "max": max(load, default=None)}
    result["items"] = {"questions_sha256": questions_checksum(),
                       "audio_sha256": {t.utterance.label: t.utterance.sha256 for t in turns}}
    return result


def machine(args: argparse.Namespace) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpus_visible": len(os.sched_getaffinity(0)), "torch": torch.__version__,
            "lm_threads": args.lm_threads or "all cores", "reply_niceness": args.niceness,
            "asr_threads": args.asr_threads or "perceiver default",
            "load_average_at_start": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=len(QUESTIONS) + len(REAL_QUESTIONS))
    parser.add_argument("--barge-ins", type=int, default=5)
    parser.add_argument("--voice", default="auto")
    parser.add_argument("--perceiver", default="default")
    parser.add_argument("--decider", default="default")
    parser.add_argument("--responder", default="default")
    parser.add_argument("--lm-threads", type=int, default=1, help="the default responder's LM threads (0: all cores)")
    parser.add_argument("--niceness", type=int, default=5, help="the default responder's thread niceness")
    parser.add_argument("--asr-threads", type=int, default=0, help="faster-whisper cpu_threads (0: its default)")
    parser.add_argument("--no-speculate", action="store_true", help="do not write replies ahead")
    parser.add_argument("--note", default="", help="free text stored with the results (e.g. other load on the machine)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "respond.json")
    args = parser.parse_args()
    if questions_checksum() != QUESTIONS_SHA256:
        raise SystemExit(f"the frozen question set changed (SHA-256 {questions_checksum()}); do not tune on it")
    description = machine(args)
    result = anyio.run(run, args)
    description["load_average_at_end"] = os.getloadavg()
    result = {"benchmark": "respond", "machine": description,
              "config": {k: v for k, v in vars(args).items() if k != "out"}, **result}
    print(table(result))
    s = result["session"]
    load = result["load_average"]
    print(f"\n{len(result['turns'])} turns, {s['audio_seconds']:.0f} s of audio in {s['wall_seconds']:.0f} s; "
          f"replies {s['replies_started']} started / {s['replies_finished']} finished / "
          f"{s['replies_cancelled']} cancelled; load average (1 min) mean {load['mean']:.1f}, max {load['max']:.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
