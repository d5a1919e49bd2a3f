"""The session's parts, tested alone: ingest, recent audio, conversation, contracts, retries, the event bus."""

from __future__ import annotations

import numpy as np
import pytest

from audiointeract.audio import AudioChunk, AudioFormat
from audiointeract.bus import EventBus
from audiointeract.clock import LoopClock
from audiointeract.config import FailurePolicy
from audiointeract.contracts import check_decision, check_perceptions
from audiointeract.conversation import Conversation
from audiointeract.errors import AudioFormatError, BackendError, BackendTimeout, ContractViolation
from audiointeract.events import (
    Action,
    Decision,
    Event,
    SessionEnded,
    SoundEvent,
    SpeechActivity,
    TranscriptUpdate,
    Turn,
)
from audiointeract.ingest import AudioIngest
from audiointeract.interfaces import Observer
from audiointeract.recent_audio import RecentAudio
from audiointeract.recording import RingRecorder
from audiointeract.retry import bounded, call_with_retries

FMT = AudioFormat()  # 16 kHz, 0.4 s chunks


def said(start: float, end: float, text: str) -> TranscriptUpdate:
    return TranscriptUpdate(span_start=start, span_end=end, committed=text)


# --------------------------------------------------------------------------- ingest


def test_ingest_repairs_non_finite_samples_without_moving_stream_time() -> None:
    ingest = AudioIngest(FMT)
    block = np.ones(16000, np.float32) * 0.1
    block[100:110] = np.nan
    block[200] = -np.inf
    chunks = ingest.push(block, 16000) + ingest.push(np.ones(16000, np.float32) * 0.1, 16000)
    assert ingest.repaired == 11
    assert [c.start_sample for c in chunks] == [i * 6400 for i in range(5)]
    assert np.all(np.isfinite(np.concatenate([c.samples for c in chunks])))
    assert chunks[0].samples[100] == 0.0


def test_ingest_takes_nothing_of_an_unusable_block_and_ignores_empty_reads() -> None:
    ingest = AudioIngest(FMT)
    assert ingest.push(np.zeros(0, np.float32), 16000) == []
    with pytest.raises(AudioFormatError, match="3-D"):
        ingest.push(np.zeros((2, 2, 2), np.float32), 16000)
    with pytest.raises(AudioFormatError, match="resampling is not allowed"):
        AudioIngest(FMT, allow_resample=False).push(np.zeros(4410, np.float32), 44100)
    assert ingest.samples_emitted == 0


@pytest.mark.parametrize("block_seconds", [0.01, 0.037, 0.5])
def test_ingest_resamples_a_stream_like_one_block(block_seconds: float) -> None:
    rate = 48000
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * rate) / rate)).astype(np.float32)
    whole = AudioIngest(FMT)
    one = whole.push(tone, rate) + whole.flush()
    pieces = AudioIngest(FMT)
    step = round(block_seconds * rate)
    many = [c for start in range(0, tone.size, step) for c in pieces.push(tone[start : start + step], rate)]
    many += pieces.flush()
    joined_one = np.concatenate([c.samples for c in one])
    joined_many = np.concatenate([c.samples for c in many])
    assert joined_one.size == joined_many.size == 3 * 16000 + 6400 - (3 * 16000) % 6400
    assert np.max(np.abs(joined_one - joined_many)) < 1e-4  # no click at block boundaries


def test_ingest_follows_a_source_that_changes_its_rate() -> None:
    ingest = AudioIngest(FMT)
    ingest.push(np.zeros(44100, np.float32), 44100)
    ingest.push(np.zeros(48000, np.float32), 48000)
    chunks = ingest.flush()
    assert ingest.samples_emitted == pytest.approx(32000, abs=6400)
    assert chunks[-1].samples.size == 6400


# --------------------------------------------------------------------------- recent audio


def chunk(index: int, value: float) -> AudioChunk:
    return AudioChunk(samples=np.full(6400, value, np.float32), sample_rate=16000, start_sample=index * 6400,
                      index=index)


def test_recent_audio_cuts_the_window_at_the_decision_point_and_forgets_the_rest() -> None:
    recent = RecentAudio(seconds=0.8, horizon=2.0, sample_rate=16000)
    for index in range(10):
        recent.add(chunk(index, float(index)))
    window = recent.window(3.2)  # chunks 6 and 7 (ending at 2.8 and 3.2 s)
    assert window is not None
    assert window.size == 12800
    assert set(np.unique(window)) == {6.0, 7.0}
    assert recent.window(0.4) is None  # fell out of the horizon
    assert RecentAudio(seconds=0.0, horizon=1.0, sample_rate=16000).window(None) is None


# --------------------------------------------------------------------------- conversation


def test_conversation_answers_what_the_evidence_covers_and_keeps_the_rest_as_overheard() -> None:
    conversation = Conversation(transcript_chars=4000, history_turns=12)
    radio = said(0.0, 3.0, "He was not an ill disposed young man.")
    question = said(5.0, 7.0, "What's the capital of France?")
    conversation.absorb([radio, SpeechActivity(span_start=4.9, span_end=4.9, speaking=True), question])
    utterance = conversation.answer([SpeechActivity(span_start=4.9, span_end=4.9, speaking=True), question])
    assert utterance == "What's the capital of France?"
    assert list(conversation.history) == [
        Turn(role="overheard", text="He was not an ill disposed young man."),
        Turn(role="user", text="What's the capital of France?"),
    ]
    conversation.replied("Paris.")
    assert conversation.history[-1] == Turn(role="assistant", text="Paris.")
    assert conversation.transcript.endswith("capital of France?")


def test_a_sound_triggered_reply_answers_no_words_and_leaves_them_for_the_next_reply() -> None:
    conversation = Conversation(transcript_chars=4000, history_turns=12)
    conversation.absorb([said(0.0, 1.0, "set a timer")])
    alarm = SoundEvent(span_start=1.0, span_end=2.0, label="Smoke detector, smoke alarm", score=0.9)
    assert conversation.answer([alarm]) == ""
    assert conversation.answer([]) == "set a timer"  # no evidence at all: everything unanswered


def test_conversation_memory_is_bounded() -> None:
    conversation = Conversation(transcript_chars=100, history_turns=3)
    for n in range(1000):
        conversation.absorb([said(n, n + 0.5, f"word number {n}")])
    assert len(conversation.transcript) <= 100
    assert len(conversation.answer([])) <= 100 + 20
    for n in range(10):
        conversation.replied(f"reply {n}")
    assert len(conversation.history) == 3


# --------------------------------------------------------------------------- contracts


def test_contract_checks_split_good_results_from_violations() -> None:
    good = SpeechActivity(span_start=0.0, span_end=0.4, speaking=True)
    late = SpeechActivity(span_start=0.0, span_end=0.9, speaking=True)
    accepted, violations = check_perceptions([good, late, "nonsense"], limit=0.4, index=0)
    assert accepted == [good]
    assert [type(v) for v in violations] == [ContractViolation, ContractViolation]
    assert "only heard up to 0.400s" in str(violations[0])
    assert check_perceptions(None, limit=1.0, index=3)[1][0].message.endswith("not a sequence")
    decision = Decision(action=Action.RESPOND, evidence=(late,))
    assert isinstance(check_decision(decision, 0.4), ContractViolation)
    assert check_decision(decision, 1.0) is decision
    assert isinstance(check_decision("respond", 1.0), ContractViolation)


# --------------------------------------------------------------------------- retries


class Flaky:
    def __init__(self, failures: int, *, retryable: bool = True, cost: float = 0.0) -> None:
        self.failures = failures
        self.retryable = retryable
        self.cost = cost
        self.calls = 0

    async def __call__(self, budget: float | None) -> str:
        self.calls += 1
        await bounded(lambda: LoopClock().sleep(self.cost), LoopClock(), budget, "flaky")
        if self.calls <= self.failures:
            raise BackendError(f"failure {self.calls}", retryable=self.retryable)
        return "ok"


@pytest.mark.anyio
async def test_retries_are_reported_before_each_wait_and_the_last_failure_is_raised() -> None:
    seen: list[tuple[str, int]] = []
    flaky = Flaky(failures=5)
    policy = FailurePolicy(max_retries=2, backoff=0.1, deadline=None)
    with pytest.raises(BackendError, match="failure 3"):
        await call_with_retries(flaky, policy, LoopClock(), on_retry=lambda e, n: seen.append((str(e), n)))
    assert seen == [("failure 1", 1), ("failure 2", 2)]
    assert await call_with_retries(Flaky(failures=1), policy, LoopClock(), on_retry=lambda e, n: None) == "ok"
    not_again = Flaky(failures=1, retryable=False)
    with pytest.raises(BackendError):
        await call_with_retries(not_again, policy, LoopClock(), on_retry=lambda e, n: None)
    assert not_again.calls == 1


@pytest.mark.anyio
async def test_the_deadline_bounds_all_attempts_together() -> None:
    clock = LoopClock()
    start = clock.now()
    hanging = Flaky(failures=0, cost=100.0)
    policy = FailurePolicy(max_retries=5, backoff=0.5, timeout=2.0, deadline=5.0)

    async def attempt(budget: float | None) -> str:
        return await bounded(lambda: hanging(None), clock, min(2.0, budget or 2.0), "hanging backend")

    with pytest.raises(BackendTimeout, match="within"):
        await call_with_retries(attempt, policy, clock, on_retry=lambda e, n: None)
    # 2 s, wait 0.5 s, 2 s; the next wait (1 s) would start the third attempt past the deadline
    assert hanging.calls == 2
    assert clock.now() - start == pytest.approx(4.5)


# --------------------------------------------------------------------------- bus


class Recording(Observer):
    def __init__(self, log: list[str], name: str, *, fail_on_event: bool = False) -> None:
        self.log = log
        self.name = name
        self.fail_on_event = fail_on_event

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if self.fail_on_event:
            raise RuntimeError("broken")
        self.log.append(f"{self.name}:{event.kind}")

    def close(self) -> None:
        self.log.append(f"{self.name}:closed")


def test_the_bus_detaches_a_broken_observer_and_closes_the_recorder_last() -> None:
    log: list[str] = []
    failures: list[str] = []
    recorder = RingRecorder()
    bus = EventBus(recorder, [Recording(log, "a"), Recording(log, "b", fail_on_event=True)],
                   on_observer_error=lambda observer, error: failures.append(str(error)))
    bus.emit(SessionEnded(reason="stopped", heard_until=0.0, at=0.0), at=0.0, heard=0.0)
    bus.emit(SessionEnded(reason="stopped", heard_until=0.0, at=0.0), at=0.0, heard=0.0)
    bus.close()
    assert failures == ["broken"]
    assert log == ["a:session_ended", "a:session_ended", "a:closed"]
    assert len(recorder.trace()) == 2
