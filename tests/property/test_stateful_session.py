"""A stateful test: grow a scene step by step (questions, statements, silence, barge-ins,
slow and failing backends) and check the real session against a small reference model."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from audiointeract.config import SessionConfig
from audiointeract.events import BackendErrorEvent, Decision, ReplyAudio, ReplyCancelled, ReplyStarted, ReplyText
from audiointeract.simulators import Expect, Fault, Scene, Silence, Speech, reply_spans, run_simulation
from audiointeract.testing.strategies import ANSWER, WARN, questions, statements, times

CHUNK = 0.4
REPLY_SECONDS = 2.0  # SpeakingResponder: 0.2 s to the first word, six words of 0.3 s audio
EPS = 1e-6
AUDIO_BLOCK = SessionConfig().audio_block_seconds


@attrs.define
class Reply:
    """A reply the model expects: when it starts, and when a barge-in cancels it (if one does)."""

    start: float
    cancelled_at: float | None = None

    @property
    def end(self) -> float:
        return self.cancelled_at if self.cancelled_at is not None else self.start + REPLY_SECONDS


@attrs.define
class Model:
    """What the oracle perceiver, the rule decider and the speaking responder must do."""

    slow: list[tuple[float, float, float]] = attrs.field(factory=list)
    replies: list[Reply] = attrs.field(factory=list)
    decider_errors: int = 0

    def seen_at(self, stream_time: float) -> float:
        """Session time at which a perception ending at ``stream_time`` is published.

        Chunk ends are exact stream times (samples / rate), so they are rounded here as the
        session rounds them: 12 * 0.4 is 4.800000000000001 in floating point, the chunk ends at 4.8.
        """
        last = max(1, math.ceil(stream_time / CHUNK - 1e-9))
        done = 0.0
        for index in range(1, last + 1):
            end = round(index * CHUNK, 9)
            cost = sum(seconds for a, b, seconds in self.slow if a <= end < b)
            done = round(max(end, done) + cost, 9)
        return done


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.segments: list[Speech | Silence] = []
        self.faults: list[Fault] = []
        self.model = Model()
        self.cursor = 0.2

    def _free_after(self) -> float:
        """The earliest start of a new segment: after the last segment and the last reply."""
        last_reply = self.model.replies[-1].end if self.model.replies else 0.0
        return max(self.cursor, last_reply + 0.05)

    @rule(text=questions(), duration=times(0.4, 2.5), gap=times(0.0, 1.5),
          fault=st.sampled_from(["none", "retryable", "fatal", "slow"]), slow=times(0.1, 0.7))
    def question(self, text: str, duration: float, gap: float, fault: str, slow: float) -> None:
        start = round(self._free_after() + gap, 6)
        segment = Speech(start=start, duration=duration, text=text, expects=[Expect(task="answer")])
        self.segments.append(segment)
        self.cursor = segment.end
        label = round(math.ceil(segment.end / CHUNK - 1e-9) * CHUNK, 6)
        if fault in ("retryable", "fatal"):
            # the decision that would answer fails (after retries): its perceptions are lost, no reply
            retryable = fault == "retryable"
            self.faults.append(Fault(component="decider", kind="raise", start=label - 0.01, end=label + 0.01,
                                     retryable=retryable))
            self.model.decider_errors += 3 if retryable else 1
            return
        if fault == "slow":  # slows the chunks that end in [start, end + one chunk)
            end = round(segment.end + CHUNK, 6)
            self.model.slow.append((segment.start, end, slow))
            self.faults.append(Fault(component="perceiver", kind="slow", start=segment.start, end=end, seconds=slow))
        self.model.replies.append(Reply(start=self.model.seen_at(segment.end)))

    @rule(text=statements(), duration=times(0.3, 2.0), gap=times(0.0, 1.5))
    def statement(self, text: str, duration: float, gap: float) -> None:
        start = round(self._free_after() + gap, 6)
        self.segments.append(Speech(start=start, duration=duration, text=text))
        self.cursor = start + duration

    @rule(duration=times(0.4, 3.0))
    def silence(self, duration: float) -> None:
        start = round(self._free_after(), 6)
        self.segments.append(Silence(start=start, duration=duration))
        self.cursor = start + duration

    @precondition(lambda self: bool(self.model.replies) and self.model.replies[-1].start >= self.cursor - EPS
                  and self.model.replies[-1].cancelled_at is None)
    @rule(text=statements(), offset=times(0.05, 1.2), duration=times(0.3, 1.5))
    def barge_in(self, text: str, offset: float, duration: float) -> None:
        reply = self.model.replies[-1]
        start = round(reply.start + offset, 6)
        self.segments.append(Speech(start=start, duration=duration, text=text))
        self.cursor = start + duration
        reply.cancelled_at = self.model.seen_at(start)

    def _scene(self) -> Scene:
        return Scene(segments=self.segments, tasks=[ANSWER, WARN], faults=self.faults, tail=REPLY_SECONDS + 0.5,
                     name="stateful")

    @precondition(lambda self: bool(self.segments))
    @invariant()
    def session_matches_the_model(self) -> None:
        result = run_simulation(self._scene())
        trace = result.trace
        started = [s.at for s in trace.of_type(ReplyStarted)]
        assert started == [pytest_approx(r.start) for r in self.model.replies]
        cancels = {c.reply_id: c for c in trace.of_type(ReplyCancelled)}
        for number, reply in enumerate(self.model.replies):
            if reply.cancelled_at is None:
                assert number not in cancels
            else:
                cancel = cancels[number]
                assert cancel.reason == "barge-in"
                assert abs(cancel.requested_at - reply.cancelled_at) < EPS  # decided when the barge-in is seen
                assert abs(cancel.carried_out_at - cancel.requested_at) < EPS  # the speaking responder stops at once
                text = [t.at for t in trace.of_type(ReplyText) if t.reply_id == number]
                audio = [a for a in trace.of_type(ReplyAudio) if a.reply_id == number]
                assert all(at <= cancel.requested_at + EPS for at in text)
                assert all(a.play_at <= cancel.requested_at + EPS for a in audio)
                assert all(a.play_at + a.duration <= cancel.requested_at + AUDIO_BLOCK + EPS for a in audio)
        errors = list(trace.of_type(BackendErrorEvent))
        assert {e.component for e in errors} <= {"decider"}
        assert len(errors) == self.model.decider_errors
        assert all(len(d.evidence) <= 1 for d in trace.of_type(Decision))
        assert len(reply_spans(trace)) == len(self.model.replies)
        assert result.statistics.chunk_queue.dropped == 0


def pytest_approx(value: float) -> object:
    return pytest.approx(value, abs=EPS)


SessionMachine.TestCase.settings = settings(
    max_examples=max(10, settings.default.max_examples // 3), stateful_step_count=8, deadline=None
)
TestSessionMachine = SessionMachine.TestCase


def test_a_slowed_chunk_is_the_last_one_before_the_fault_window_ends() -> None:
    """Found by the machine: the model once put the last slowed chunk's end at 12 * 0.4 = 4.800000000000001."""
    machine = SessionMachine()
    machine.silence(duration=0.4)
    machine.question(duration=2.3, fault="slow", gap=1.5, slow=0.1, text="the?")
    machine.barge_in(duration=0.3, offset=0.05, text="the")
    assert machine.model.replies[0].cancelled_at == 4.8  # the chunk ending at 4.8 is not slowed
    machine.session_matches_the_model()
