"""The session loop's guarantees, on virtual time (no real sleeps)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence

import anyio
import numpy as np
import pytest
import trio
import trio.testing

from audiointeract import ArraySource, Session, SessionConfig
from audiointeract.audio import AudioChunk, AudioFormat
from audiointeract.backends.mock import (
    EnergyPerceiver,
    ScriptedAction,
    ScriptedDecider,
    ScriptedPerceiver,
    ScriptedResponder,
    TurnEndDecider,
    hum,
)
from audiointeract.clock import LoopClock
from audiointeract.config import DecisionMode, FailureAction, FailurePolicy, Pacing
from audiointeract.errors import BackendError
from audiointeract.events import (
    Action,
    AudioDelta,
    AudioReceived,
    BackchannelEnded,
    BackchannelStarted,
    BackendErrorEvent,
    ChunkDropped,
    Decision,
    DecisionIgnored,
    Event,
    InputWarning,
    Perception,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    ResponseDelta,
    ResponseRequest,
    SoundEvent,
    SpeculationEnded,
    SpeculationStarted,
    SpeechActivity,
    TextDelta,
    TranscriptUpdate,
)
from audiointeract.interfaces import Decider, DecisionContext, Observer, Perceiver, Responder
from audiointeract.queues import Overflow
from audiointeract.simulators import run_virtual
from audiointeract.turns import TurnConfig

SR = 16000


def silence(seconds: float) -> ArraySource:
    return ArraySource(np.zeros(round(seconds * SR), np.float32), SR)


def speech(ranges: Sequence[tuple[float, float]], total: float) -> ArraySource:
    audio = np.zeros(round(total * SR), np.float32)
    for start, end in ranges:
        n = round((end - start) * SR)
        audio[round(start * SR) : round(start * SR) + n] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / SR)
    return ArraySource(audio, SR)


def activity(at: float, speaking: bool) -> SpeechActivity:
    return SpeechActivity(span_start=max(0.0, at - 0.1), span_end=at, speaking=speaking)


class SlowPerceiver(Perceiver):
    """Takes ``cost`` seconds of session time per chunk."""

    def __init__(self, cost: float) -> None:
        self.cost = cost
        self.clock = LoopClock()

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        await self.clock.sleep(self.cost)
        return ()


class SlowDecider(Decider):
    def __init__(self, cost: float) -> None:
        self.cost = cost
        self.calls: list[int] = []

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        self.calls.append(len(perceptions))
        await LoopClock().sleep(self.cost)
        return Decision.silent()


class FlakyResponder(Responder):
    """Fails ``failures`` times (with the given retryable flag), then answers."""

    def __init__(self, failures: int, *, retryable: bool, after_tokens: int = 0) -> None:
        self.failures = failures
        self.retryable = retryable
        self.after_tokens = after_tokens
        self.calls = 0

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        self.calls += 1
        for number in range(self.after_tokens):
            yield TextDelta(text=f"t{number} ")
        if self.calls <= self.failures:
            raise BackendError("model server went away", retryable=self.retryable)
        yield TextDelta(text="recovered")


class SpeakingResponder(Responder):
    """Yields 2 s of audio per sentence, three sentences."""

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        for number in range(3):
            yield TextDelta(text=f"Sentence {number}. ")
            yield AudioDelta(samples=np.full(2 * 22050, 0.1, np.float32), sample_rate=22050)


class Collect(Observer):
    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        self.events.append((at, event))


def of(trace: object, cls: type) -> list:  # type: ignore[type-arg]
    return trace.of_type(cls)  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_perception_keeps_advancing_while_a_long_reply_streams() -> None:
    perceiver = ScriptedPerceiver([activity(1.0, True), activity(2.0, False), activity(6.0, True)])
    responder = ScriptedResponder("word " * 40, tokens_per_second=5)  # an 8 s reply
    session = Session(perceiver, TurnEndDecider(barge_in=False), responder)
    trace = await session.run(silence(12))
    start = of(trace, ReplyStarted)[0].at
    end = of(trace, ReplyFinished)[0].at
    assert end - start > 7.5
    during = [r for r in trace if start < r.at < end and isinstance(r.event, AudioReceived)]
    assert len(during) >= 18  # chunks kept arriving and being perceived while the reply streamed
    assert any(start < p.emitted_at < end for p in of(trace, SpeechActivity))


@pytest.mark.anyio
async def test_barge_in_cancels_and_nothing_of_the_reply_follows_the_cancel() -> None:
    perceiver = ScriptedPerceiver([activity(1.0, True), activity(2.0, False), activity(3.2, True)])
    session = Session(perceiver, TurnEndDecider(), ScriptedResponder("word " * 50, tokens_per_second=10))
    trace = await session.run(silence(8))
    (cancelled,) = of(trace, ReplyCancelled)
    interrupt = next(d for d in of(trace, Decision) if d.action is Action.INTERRUPT)
    assert cancelled.requested_at == interrupt.decided_at
    assert cancelled.carried_out_at >= cancelled.requested_at
    assert cancelled.reason == "barge-in"
    # measured from the request: ReplyCancelled itself is emitted once carried out, so nothing can follow that
    after = [r for r in trace if isinstance(r.event, ReplyText | ReplyAudio) and r.at > cancelled.requested_at]
    assert after == []
    terminal = [e for e in trace.of_type(object) if isinstance(e, ReplyFinished | ReplyCancelled | ReplyFailed)]
    assert len(terminal) == 1
    assert session.statistics().replies_cancelled == 1


@pytest.mark.anyio
async def test_cancel_cuts_reply_audio_within_one_block() -> None:
    perceiver = ScriptedPerceiver([activity(1.0, True), activity(2.0, False), activity(4.0, True)])
    session = Session(perceiver, TurnEndDecider(), SpeakingResponder())
    trace = await session.run(silence(10))
    (cancelled,) = of(trace, ReplyCancelled)
    audio = of(trace, ReplyAudio)
    assert audio, "some audio played before the barge-in"
    assert all(a.duration <= 0.1 + 1e-9 for a in audio)
    last_end = max(a.play_at + a.duration for a in audio)
    assert last_end <= cancelled.requested_at + 0.1 + 1e-9
    assert all(a.play_at <= cancelled.requested_at for a in audio)


@pytest.mark.anyio
async def test_reply_audio_plays_back_to_back_in_real_time() -> None:
    perceiver = ScriptedPerceiver([activity(1.0, True), activity(2.0, False)])
    session = Session(perceiver, TurnEndDecider(), SpeakingResponder())
    trace = await session.run(silence(4))
    audio = of(trace, ReplyAudio)
    assert sum(a.duration for a in audio) == pytest.approx(6.0, abs=1e-6)
    gaps = [b.play_at - (a.play_at + a.duration) for a, b in itertools.pairwise(audio)]
    assert max(abs(g) for g in gaps) < 1e-6
    (finished,) = of(trace, ReplyFinished)
    assert finished.at == pytest.approx(audio[-1].play_at + audio[-1].duration)


@pytest.mark.anyio
async def test_failing_responder_yields_error_events_and_the_session_keeps_listening() -> None:
    script = [activity(1.0, True), activity(2.0, False), activity(4.0, True), activity(5.0, False)]
    responder = FlakyResponder(failures=1, retryable=False, after_tokens=1)
    session = Session(ScriptedPerceiver(script), TurnEndDecider(), responder)
    trace = await session.run(silence(8))
    (failed,) = of(trace, ReplyFailed)
    assert failed.error_type == "BackendError"
    errors = of(trace, BackendErrorEvent)
    assert [(e.component, e.handling, e.retryable) for e in errors] == [("responder", "skip", False)]
    finished = of(trace, ReplyFinished)
    assert [f.text for f in finished] == ["t0 recovered"]
    assert trace.ended is not None
    assert trace.ended.reason == "source_exhausted"


@pytest.mark.anyio
async def test_retryable_responder_failure_is_retried_before_any_output() -> None:
    responder = FlakyResponder(failures=1, retryable=True)
    session = Session(ScriptedPerceiver([activity(1.0, True), activity(2.0, False)]), TurnEndDecider(), responder)
    trace = await session.run(silence(4))
    assert [e.handling for e in of(trace, BackendErrorEvent)] == ["retry"]
    assert [f.text for f in of(trace, ReplyFinished)] == ["recovered"]
    assert responder.calls == 2


class FailingPerceiver(Perceiver):
    def __init__(self, fail_chunks: set[int], *, retryable: bool) -> None:
        self.fail_chunks = fail_chunks
        self.retryable = retryable
        self.attempts: list[int] = []

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        self.attempts.append(chunk.index)
        if chunk.index in self.fail_chunks:
            raise BackendError(f"chunk {chunk.index} broke", retryable=self.retryable)
        return ()


@pytest.mark.anyio
async def test_perceiver_failures_follow_the_failure_policy() -> None:
    perceiver = FailingPerceiver({2}, retryable=True)
    config = SessionConfig(perceiver_failure=FailurePolicy(max_retries=2, backoff=0.05))
    trace = await Session(perceiver, TurnEndDecider(), ScriptedResponder(), config=config).run(silence(2))
    handlings = [e.handling for e in of(trace, BackendErrorEvent)]
    assert handlings == ["retry", "retry", "skip"]
    assert perceiver.attempts.count(2) == 3
    assert perceiver.attempts[-1] == 4  # later chunks were still perceived

    stopper = FailingPerceiver({2}, retryable=False)
    config = SessionConfig(perceiver_failure=FailurePolicy(on_exhausted=FailureAction.STOP))
    trace = await Session(stopper, TurnEndDecider(), ScriptedResponder(), config=config).run(silence(4))
    assert [e.handling for e in of(trace, BackendErrorEvent)] == ["stop"]
    assert trace.ended is not None
    assert trace.ended.reason.startswith("failed: perceiver failed")
    assert max(stopper.attempts) == 2


@pytest.mark.anyio
async def test_a_hanging_backend_times_out_as_a_retryable_error() -> None:
    config = SessionConfig(perceiver_failure=FailurePolicy(timeout=0.5, max_retries=1, backoff=0.0))
    trace = await Session(SlowPerceiver(10.0), TurnEndDecider(), ScriptedResponder(), config=config).run(silence(0.8))
    errors = of(trace, BackendErrorEvent)
    assert {e.error_type for e in errors} == {"BackendTimeout"}
    assert [e.handling for e in errors] == ["retry", "skip", "retry", "skip"]


@pytest.mark.anyio
async def test_slow_perceiver_fills_the_bounded_queue_and_drops_are_counted() -> None:
    config = SessionConfig(chunk_queue=4, chunk_overflow=Overflow.DROP_OLDEST)
    session = Session(SlowPerceiver(1.0), TurnEndDecider(), ScriptedResponder(), config=config)
    trace = await session.run(silence(20))
    stats = session.statistics()
    dropped = of(trace, ChunkDropped)
    assert stats.chunks_received == 50
    assert stats.chunk_queue.dropped == len(dropped) > 0
    assert stats.chunk_queue.max_depth == 4
    assert stats.chunks_perceived + stats.chunk_queue.dropped == stats.chunks_received
    assert stats.max_perceiver_lag > 1.0  # lag is reported, not hidden


@pytest.mark.anyio
async def test_fail_overflow_stops_the_session_with_a_reason() -> None:
    config = SessionConfig(chunk_queue=2, chunk_overflow=Overflow.FAIL)
    trace = await Session(SlowPerceiver(1.0), TurnEndDecider(), ScriptedResponder(), config=config).run(silence(10))
    assert trace.ended is not None
    assert "chunk queue is full" in trace.ended.reason


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "cost", "expected"), [
    (DecisionMode.PER_CHUNK, 0.0, 10),
    (DecisionMode.DRAIN, 0.0, 10),
    (DecisionMode.PER_CHUNK, 1.0, 10),
    (DecisionMode.DRAIN, 1.0, 5),  # decisions at 0.4, 1.4, 2.4, 3.4, 4.4 s each drain what piled up
])
async def test_drain_versus_per_chunk_decision_counts(mode: DecisionMode, cost: float, expected: int) -> None:
    decider = SlowDecider(cost)
    config = SessionConfig(decision_mode=mode)
    session = Session(ScriptedPerceiver(), decider, ScriptedResponder(), config=config)
    trace = await session.run(silence(4))
    assert len(of(trace, Decision)) == expected == len(decider.calls)
    assert session.statistics().decision_queue.dropped == 0


@pytest.mark.anyio
async def test_half_duplex_drains_what_was_heard_during_the_reply_into_one_decision() -> None:
    script = [activity(1.0, True), activity(2.0, False), *(activity(t, True) for t in (3.0, 4.0, 5.0))]
    decider = SlowDecider(0.0)

    class Answer(Decider):
        async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
            await decider.decide(context, perceptions)
            ends = [p for p in perceptions if isinstance(p, SpeechActivity) and not p.speaking]
            return Decision(action=Action.RESPOND, evidence=ends) if ends else Decision.silent()

    config = SessionConfig(half_duplex=True)
    responder = ScriptedResponder("word " * 20, tokens_per_second=5, first_token_delay=0.0)  # ~3.8 s
    trace = await Session(ScriptedPerceiver(script), Answer(), responder, config=config).run(silence(8))
    (reply,) = of(trace, ReplyStarted)
    (finished,) = of(trace, ReplyFinished)
    inside = [d for d in of(trace, Decision) if reply.at < d.decided_at < finished.at]
    assert inside == []  # no decision point while the reply is in flight
    assert max(decider.calls) == 3  # the first decision after it drained the three queued perceptions


@pytest.mark.anyio
async def test_reply_cooldown_turns_early_responds_into_ignored_decisions() -> None:
    script = [activity(t, s) for t, s in ((1.0, True), (1.4, False), (2.0, True), (2.4, False), (6.0, True), (6.4, False))]
    config = SessionConfig(turn=TurnConfig(reply_cooldown=3.0))
    responder = ScriptedResponder("ok", first_token_delay=0.0)
    trace = await Session(ScriptedPerceiver(script), TurnEndDecider(), responder, config=config).run(silence(8))
    assert len(of(trace, ReplyStarted)) == 2
    (ignored,) = of(trace, DecisionIgnored)
    assert "cooldown" in ignored.reason


class Clairvoyant(Perceiver):
    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        return [TranscriptUpdate(span_start=chunk.start_time, span_end=chunk.end_time + 5.0, committed="future")]


@pytest.mark.anyio
async def test_perceptions_of_unheard_audio_are_rejected_as_contract_violations() -> None:
    trace = await Session(Clairvoyant(), TurnEndDecider(), ScriptedResponder()).run(silence(0.8))
    errors = of(trace, BackendErrorEvent)
    assert len(errors) == 2
    assert all(e.error_type == "ContractViolation" and "only heard" in e.message for e in errors)
    assert of(trace, TranscriptUpdate) == []


@pytest.mark.anyio
async def test_causality_every_perception_and_decision_follows_its_audio() -> None:
    session = Session(EnergyPerceiver(), TurnEndDecider(), ScriptedResponder("fine thanks"))
    trace = await session.run(speech([(1.0, 2.0), (3.0, 3.5)], 6))
    for record in trace:
        event = record.event
        if isinstance(event, SpeechActivity):
            assert event.emitted_at is not None
            assert event.span_end <= record.heard + 1e-9
            assert event.emitted_at >= event.span_end - 1e-9  # never before its audio was heard (real-time pacing)
        if isinstance(event, Decision):
            assert event.heard_until is not None
            assert event.decided_at is not None
            assert all(p.span_end <= event.heard_until + 1e-9 for p in event.evidence)
            assert event.decided_at >= event.heard_until - 1e-9


class Exploding(Observer):
    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        raise RuntimeError("observer bug")


@pytest.mark.anyio
async def test_a_broken_observer_is_detached_and_reported() -> None:
    collect = Collect()
    session = Session(ScriptedPerceiver(), TurnEndDecider(), ScriptedResponder(), observers=[Exploding(), collect])
    trace = await session.run(silence(1))
    errors = of(trace, BackendErrorEvent)
    assert [e.component for e in errors] == ["observer Exploding"]
    assert len(collect.events) == len(trace)


@pytest.mark.anyio
async def test_events_can_be_iterated_while_the_session_runs_and_stopped_early() -> None:
    session = Session(ScriptedPerceiver([activity(1.0, True), activity(2.0, False)]), TurnEndDecider(),
                      ScriptedResponder("hello"))
    seen: list[str] = []
    async with session.start(silence(600)) as events:
        async for event in events:
            seen.append(event.kind)
            if isinstance(event, ReplyFinished):
                session.stop()
    assert "reply_finished" in seen
    assert seen[-1] == "session_ended"
    assert session.trace.ended is not None
    assert session.trace.ended.reason == "stopped"
    assert session.statistics().heard_until < 10


@pytest.mark.anyio
async def test_fast_pacing_decides_every_chunk_in_lock_step() -> None:
    config = SessionConfig(pacing=Pacing.FAST, chunk_overflow=Overflow.BLOCK)
    session = Session(ScriptedPerceiver(), SlowDecider(0.0), ScriptedResponder(), config=config)
    trace = await session.run(silence(600))
    assert len(of(trace, Decision)) == 1500
    assert trace.ended is not None
    assert trace.ended.at == 0.0  # no waiting on the clock at all


@pytest.mark.anyio
@pytest.mark.parametrize(("rate", "channels", "dtype", "chunk"), [
    (8000, 1, np.int16, 0.1), (22050, 2, np.float32, 0.4), (44100, 2, np.int16, 2.0), (48000, 1, np.float64, 0.5),
])
async def test_any_input_format_is_converted_at_the_boundary(rate: int, channels: int, dtype: type, chunk: float) -> None:
    n = rate * 3
    wave = np.sin(2 * np.pi * 200 * np.arange(n) / rate) * (np.arange(n) >= rate)
    data = (wave * (16000 if dtype is np.int16 else 0.5)).astype(dtype)
    if channels == 2:
        data = np.stack([data, data], axis=1)
    config = SessionConfig(audio=AudioFormat(chunk_seconds=chunk))
    session = Session(EnergyPerceiver(), TurnEndDecider(), ScriptedResponder(), config=config)
    trace = await session.run(ArraySource(data, rate))
    starts = [p for p in of(trace, SpeechActivity) if p.speaking]
    assert len(starts) == 1
    assert starts[0].span_start == pytest.approx(1.0, abs=0.03)
    assert session.statistics().heard_until == pytest.approx(3.0, abs=chunk)


@pytest.mark.anyio
async def test_unusable_source_blocks_are_reported_and_do_not_lose_accepted_audio() -> None:
    good = np.zeros(SR, np.float32)
    cube = np.zeros((4, 4, 4), np.float32)

    class Mixed(ArraySource):
        async def blocks(self) -> AsyncIterator[tuple[object, int]]:  # type: ignore[override]
            yield good, SR
            yield cube, SR
            yield good, SR

    session = Session(ScriptedPerceiver(), TurnEndDecider(), ScriptedResponder())
    trace = await session.run(Mixed(good, SR))
    (error,) = of(trace, BackendErrorEvent)
    assert (error.component, error.error_type, error.handling) == ("source", "AudioFormatError", "skip")
    assert "3-D" in error.message
    assert session.statistics().heard_until == pytest.approx(2.0)


@pytest.mark.anyio
async def test_non_finite_samples_are_repaired_without_moving_stream_time() -> None:
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(4 * SR) / SR)).astype(np.float32)
    tone[: 2 * SR] = 0.0
    tone[SR // 2] = np.nan
    tone[SR : SR + 400] = np.inf
    session = Session(EnergyPerceiver(), TurnEndDecider(), ScriptedResponder())
    trace = await session.run(ArraySource(tone, SR, block_seconds=0.5))
    (warning,) = of(trace, InputWarning)  # said once, not per sample or per block
    assert warning.code == "non_finite_samples"
    assert of(trace, BackendErrorEvent) == []
    assert session.statistics().samples_repaired == 401
    assert session.statistics().heard_until == pytest.approx(4.0)
    (onset,) = [p for p in of(trace, SpeechActivity) if p.speaking]
    assert onset.span_start == pytest.approx(2.0, abs=0.03)  # later timestamps did not shift


async def _trace_text() -> str:
    script = [activity(1.0, True), activity(2.0, False), activity(2.9, True), activity(4.0, False)]
    session = Session(ScriptedPerceiver(script), TurnEndDecider(), ScriptedResponder("one two three four five"))
    return (await session.run(silence(6))).to_jsonl()


def test_two_runs_give_byte_identical_traces() -> None:
    assert run_virtual(_trace_text) == run_virtual(_trace_text)


@pytest.mark.anyio
async def test_scripted_decider_acts_at_its_stream_times() -> None:
    decider = ScriptedDecider([ScriptedAction(at=1.2, action=Action.RESPOND, task="answer")])
    trace = await Session(ScriptedPerceiver(), decider, ScriptedResponder("hi")).run(silence(3))
    (decision,) = [d for d in of(trace, Decision) if d.action is Action.RESPOND]
    assert decision.heard_until == pytest.approx(1.2)
    assert decision.task == "answer"


class CountingCheck(ScriptedResponder):
    checks = 0

    async def check(self) -> None:
        CountingCheck.checks += 1


@pytest.mark.anyio
async def test_a_session_runs_once_and_says_so_before_any_backend_check() -> None:
    responder = CountingCheck()
    session = Session(ScriptedPerceiver(), TurnEndDecider(), responder)
    await session.run(silence(0.4))
    with pytest.raises(RuntimeError, match="runs once"):
        await session.run(silence(0.4))
    with pytest.raises(RuntimeError, match="runs once"):
        async with session.start(silence(0.4)):
            pass
    assert CountingCheck.checks == 1


def test_the_same_session_runs_on_trio_with_its_mock_clock() -> None:
    async def main() -> list[float]:
        script = [activity(1.0, True), activity(2.0, False)]
        session = Session(ScriptedPerceiver(script), TurnEndDecider(), ScriptedResponder("a b c", tokens_per_second=10))
        trace = await session.run(silence(4))
        return [e.at for e in of(trace, ReplyText)]

    times = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert times == pytest.approx([2.2, 2.3, 2.4])


class AudioEcho(Decider):
    def __init__(self) -> None:
        self.seen: list[tuple[float, int, int]] = []

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        size = 0 if context.audio is None else context.audio.size
        self.seen.append((context.heard_until, size, context.sample_rate))
        await LoopClock().sleep(1.0)  # a slow audio-LLM decider lags behind ingestion
        return Decision.silent()


@pytest.mark.anyio
async def test_deciders_get_the_configured_audio_window_up_to_their_decision_point() -> None:
    decider = AudioEcho()
    config = SessionConfig(request_audio_seconds=1.2)
    await Session(ScriptedPerceiver(), decider, ScriptedResponder(), config=config).run(silence(6))
    assert decider.seen[0] == (0.4, round(0.4 * SR), SR)
    assert all(size == round(1.2 * SR) for heard, size, _ in decider.seen if heard >= 1.2)


class FailingCheck(ScriptedResponder):
    async def check(self) -> None:
        raise BackendError("server at http://127.0.0.1:9 is not usable: connection refused")


@pytest.mark.anyio
async def test_a_failing_check_raises_before_any_audio_flows() -> None:
    session = Session(ScriptedPerceiver(), TurnEndDecider(), FailingCheck())
    with pytest.raises(BackendError, match="not usable"):
        await session.run(silence(1))
    assert session.statistics().chunks_received == 0


class WarnOverReply(Decider):
    """Interrupts its own reply when a sound is heard, then says something about it."""

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        sounds = [p for p in perceptions if isinstance(p, SoundEvent)]
        ends = [p for p in perceptions if isinstance(p, SpeechActivity) and not p.speaking]
        if sounds and context.agent_speaking:
            return Decision(action=Action.INTERRUPT, task="warn", evidence=sounds)
        if sounds or self.pending:
            self.pending = False
            return Decision(action=Action.RESPOND, task="warn", evidence=sounds)
        if ends and not context.agent_speaking:
            return Decision(action=Action.RESPOND, task="answer", evidence=ends)
        return Decision.silent()

    pending = False


class SlowToCancel(ScriptedResponder):
    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        try:
            async for delta in super().respond(request):
                yield delta
        finally:
            with anyio.CancelScope(shield=True):
                await LoopClock().sleep(1.0)  # e.g. a model step that must finish


@pytest.mark.anyio
async def test_a_warning_decided_while_a_cancel_is_carried_out_follows_it() -> None:
    decider = WarnOverReply()
    script: list[Perception] = [activity(1.0, True), activity(2.0, False),
                                SoundEvent(span_start=3.0, span_end=3.6, label="Smoke detector, smoke alarm", score=0.9)]
    responder = SlowToCancel(lambda r: f"reply for {r.decision.task} " * 10, tokens_per_second=5)

    class Then(Decider):
        async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
            decision = await decider.decide(context, perceptions)
            if decision.action is Action.INTERRUPT:
                decider.pending = True
            return decision

    trace = await Session(ScriptedPerceiver(script), Then(), responder).run(silence(12))
    started = of(trace, ReplyStarted)
    assert [s.task for s in started] == ["answer", "warn"]
    (cancelled,) = of(trace, ReplyCancelled)
    assert cancelled.carried_out_at - cancelled.requested_at == pytest.approx(1.0)
    assert started[1].at == cancelled.carried_out_at
    assert of(trace, DecisionIgnored) == []


class Acknowledging(ScriptedResponder):
    """A speaking mock that counts how often it is asked to synthesise an acknowledgement."""

    def __init__(self) -> None:
        super().__init__("sure thing", word_seconds=0.3)
        self.synthesised: list[str] = []

    async def acknowledgement(self, text: str) -> AudioDelta | None:
        self.synthesised.append(text)
        return AudioDelta(samples=hum(1.0), sample_rate=SR, text=text)


class Watching(Decider):
    """Scripted actions; remembers whether the agent was speaking at each decision point."""

    def __init__(self, script: dict[float, Action]) -> None:
        self.script = dict(script)
        self.speaking: list[tuple[float, bool]] = []

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        self.speaking.append((context.heard_until, context.agent_speaking))
        action = self.script.pop(round(context.heard_until, 1), None)
        return Decision.silent() if action is None else Decision(action=action, reason="scripted")


@pytest.mark.anyio
async def test_a_backchannel_plays_a_cached_acknowledgement_without_taking_the_floor() -> None:
    responder = Acknowledging()
    decider = Watching({1.2: Action.BACKCHANNEL, 4.0: Action.BACKCHANNEL, 6.0: Action.BACKCHANNEL})
    session = Session(ScriptedPerceiver(), decider, responder)
    trace = await session.run(silence(8))
    started = of(trace, BackchannelStarted)
    assert [s.text for s in started] == ["mm-hm", "okay", "mm-hm"]
    assert responder.synthesised == ["mm-hm", "okay"]  # each phrase synthesised once, then cached
    ended = of(trace, BackchannelEnded)
    assert [e.cancelled for e in ended] == [False, False, False]
    audio = [a for a in of(trace, ReplyAudio) if a.backchannel]
    assert sum(a.duration for a in audio) == pytest.approx(3.0)
    assert of(trace, ReplyStarted) == []
    assert not any(speaking for _, speaking in decider.speaking)  # the floor stayed with the user
    assert session.statistics().backchannels_started == 3


@pytest.mark.anyio
async def test_a_respond_cuts_a_backchannel_short_and_takes_the_floor() -> None:
    responder = Acknowledging()
    decider = Watching({1.2: Action.BACKCHANNEL, 1.6: Action.RESPOND})
    trace = await Session(ScriptedPerceiver(), decider, responder).run(silence(5))
    (ended,) = of(trace, BackchannelEnded)
    assert ended.cancelled
    assert ended.reason == "the agent takes the floor"
    (reply,) = of(trace, ReplyStarted)
    assert ended.at == pytest.approx(reply.at)  # cut at the decision, not played out
    ack_audio = [a for a in of(trace, ReplyAudio) if a.backchannel]
    assert ack_audio
    assert all(a.play_at <= ended.at for a in ack_audio)


@pytest.mark.anyio
async def test_backchannels_turned_off_are_recorded_as_ignored_and_text_only_responders_ack_in_text() -> None:
    config = SessionConfig(turn=TurnConfig(allow_backchannel=False))
    trace = await Session(ScriptedPerceiver(), Watching({1.2: Action.BACKCHANNEL}), Acknowledging(),
                          config=config).run(silence(3))
    (ignored,) = of(trace, DecisionIgnored)
    assert ignored.reason == "backchannels are turned off"
    assert of(trace, BackchannelStarted) == []

    trace = await Session(ScriptedPerceiver(), Watching({1.2: Action.BACKCHANNEL}), ScriptedResponder()).run(
        silence(3)
    )
    (started,) = of(trace, BackchannelStarted)
    (ended,) = of(trace, BackchannelEnded)
    assert started.text == "mm-hm"
    assert not ended.cancelled
    assert of(trace, ReplyAudio) == []


class Preparing(Decider):
    """Prepares a reply at some decision points and responds at others (times in stream seconds)."""

    def __init__(self, prepare_at: set[float], respond_at: set[float]) -> None:
        self.prepare_at = prepare_at
        self.respond_at = respond_at
        self.evidence: list[Perception] = []

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        self.evidence += [p for p in perceptions if isinstance(p, TranscriptUpdate)]
        at = round(context.heard_until, 1)
        if at in self.respond_at:
            return Decision(action=Action.RESPOND, task="answer", evidence=self.evidence[-1:])
        if at in self.prepare_at:
            return Decision.preparing("answer", self.evidence[-1:], reason="turn looks complete")
        return Decision.silent()


def question(text: str, end: float) -> TranscriptUpdate:
    return TranscriptUpdate(span_start=end - 1.0, span_end=end, committed=text)


@pytest.mark.anyio
async def test_a_prepared_reply_is_written_ahead_and_heard_only_after_the_respond() -> None:
    responder = ScriptedResponder("It is noon.", first_token_delay=0.5, word_seconds=0.3)
    perceiver = ScriptedPerceiver([question("what time is it?", 1.8)])
    trace = await Session(perceiver, Preparing({2.0, 2.4}, {2.8}), responder).run(silence(6))
    (started,) = of(trace, SpeculationStarted)
    assert (started.reply_id, started.utterance) == (0, "what time is it?")
    (ended,) = of(trace, SpeculationEnded)
    (reply,) = of(trace, ReplyStarted)
    assert ended.used
    assert ended.at == reply.at == pytest.approx(2.8)
    outputs = [r for r in trace if isinstance(r.event, ReplyText | ReplyAudio)]
    assert outputs
    assert all(r.at >= reply.at for r in outputs)  # nothing of it was heard before the RESPOND
    assert all(a.play_at >= reply.at for a in of(trace, ReplyAudio))
    first_text = of(trace, ReplyText)[0]
    assert first_text.at == pytest.approx(2.8)  # written ahead: ready the moment it is decided
    finished = of(trace, ReplyFinished)
    assert [f.text for f in finished] == ["It is noon."]


@pytest.mark.anyio
async def test_a_prepared_reply_that_is_not_confirmed_is_discarded_and_never_heard() -> None:
    responder = ScriptedResponder("It is noon.", first_token_delay=0.1, word_seconds=0.3)
    perceiver = ScriptedPerceiver([question("what time", 1.8), question("is it in Tokyo?", 3.4)])
    session = Session(perceiver, Preparing({2.0, 3.6, 4.0}, {4.4}), responder)  # the user goes on at 2.4
    trace = await session.run(silence(8))
    first, second = of(trace, SpeculationEnded)
    assert not first.used
    assert first.reason.startswith("the decider no longer prepares it")
    assert second.used
    assert [s.utterance for s in of(trace, SpeculationStarted)] == ["what time", "is it in Tokyo?"]
    (reply,) = of(trace, ReplyStarted)
    assert all(r.at >= reply.at for r in trace if isinstance(r.event, ReplyText | ReplyAudio))
    stats = session.statistics()
    assert (stats.speculations_started, stats.speculations_used, stats.speculations_discarded) == (2, 1, 1)


@pytest.mark.anyio
async def test_a_respond_for_other_words_discards_the_prepared_reply_and_speculation_can_be_off() -> None:
    perceiver = ScriptedPerceiver([question("what time", 1.8), question("is it?", 2.6)])
    trace = await Session(perceiver, Preparing({2.0, 2.4}, {2.8}), ScriptedResponder("Noon.")).run(silence(5))
    (ended,) = of(trace, SpeculationEnded)
    assert not ended.used
    assert ended.reason == "the reply that was decided differs from the one written ahead"
    assert [f.text for f in of(trace, ReplyFinished)] == ["Noon."]

    config = SessionConfig(speculate=False)
    trace = await Session(ScriptedPerceiver([question("what time is it?", 1.8)]), Preparing({2.0, 2.4}, {2.8}),
                          ScriptedResponder("Noon.", first_token_delay=0.5), config=config).run(silence(5))
    assert of(trace, SpeculationStarted) == []
    assert of(trace, ReplyText)[0].at == pytest.approx(3.3)
