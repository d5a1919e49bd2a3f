"""Nothing lost on any ending: every way a session ends leaves one SessionEnded, closed observers, a valid trace."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiointeract import ArraySource, Session, SessionConfig
from audiointeract.audio import AudioChunk, AudioFormat
from audiointeract.backends.mock import ScriptedPerceiver, ScriptedResponder, TurnEndDecider
from audiointeract.clock import LoopClock
from audiointeract.config import FailureAction, FailurePolicy
from audiointeract.errors import BackendError, ConfigurationError
from audiointeract.events import (
    AudioReceived,
    Event,
    Perception,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    SessionEnded,
    SpeechActivity,
)
from audiointeract.interfaces import Observer, Perceiver
from audiointeract.recording import JsonlRecorder, NoRecording, RingRecorder
from audiointeract.simulators import run_virtual
from audiointeract.trace import Trace

SR = 16000


def activity(at: float, speaking: bool) -> SpeechActivity:
    return SpeechActivity(span_start=max(0.0, at - 0.1), span_end=at, speaking=speaking)


def turns(count: int, *, every: float = 3.0) -> list[Perception]:
    script: list[Perception] = []
    for number in range(count):
        start = 1.0 + every * number
        script += [activity(start, True), activity(start + 0.8, False)]
    return script


class Closing(Observer):
    """Counts events and closes; optionally fails to close."""

    def __init__(self, *, fail: bool = False) -> None:
        self.events: list[Event] = []
        self.closed = 0
        self.fail = fail

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed += 1
        if self.fail:
            raise RuntimeError("close failed")


class BreakingSource(ArraySource):
    """Yields ``good`` seconds of audio, then fails like a corrupt file."""

    def __init__(self, good: float) -> None:
        super().__init__(np.zeros(round(good * SR), np.float32), SR, block_seconds=0.5)
        self.closed = False

    async def blocks(self) -> AsyncIterator[tuple[object, int]]:  # type: ignore[override]
        async for block in super().blocks():
            yield block
        raise RuntimeError("Error : flac decoder lost sync.")

    async def aclose(self) -> None:
        self.closed = True


class FailingPerceiver(Perceiver):
    def __init__(self, at: float) -> None:
        self.at = at

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        if chunk.end_time > self.at:
            raise BackendError("model crashed", retryable=False)
        return ()


def silence(seconds: float) -> ArraySource:
    return ArraySource(np.zeros(round(seconds * SR), np.float32), SR)


def speaking_responder() -> ScriptedResponder:
    return ScriptedResponder("one two three four five six", tokens_per_second=5, word_seconds=0.3)


def check_invariants(trace: Trace, observers: Sequence[Closing]) -> SessionEnded:
    """What holds after any ending."""
    assert not trace.truncated
    ended = trace.ended
    assert ended is not None
    assert trace.records[-1].event is ended
    assert len(trace.of_type(SessionEnded)) == 1
    started = {s.reply_id for s in trace.of_type(ReplyStarted)}
    terminals = [e for e in trace.of_type(object) if isinstance(e, ReplyFinished | ReplyCancelled | ReplyFailed)]
    assert sorted(t.reply_id for t in terminals) == sorted(started)  # exactly one terminal event per reply
    for terminal in terminals:
        end = terminal.carried_out_at if isinstance(terminal, ReplyCancelled) else terminal.at
        later = [r for r in trace if isinstance(r.event, ReplyText | ReplyAudio)
                 and r.event.reply_id == terminal.reply_id and r.at > end]
        assert later == []
    for observer in observers:
        assert observer.closed == 1
        assert isinstance(observer.events[-1], SessionEnded)
    return ended


@pytest.mark.anyio
async def test_a_source_failing_mid_stream_ends_the_session_with_the_reason_and_keeps_what_was_heard(
    tmp_path: Path,
) -> None:
    source = BreakingSource(good=4.8)
    watcher = Closing()
    recorder = JsonlRecorder(tmp_path / "trace.jsonl")
    session = Session(ScriptedPerceiver(turns(1)), TurnEndDecider(), speaking_responder(),
                      observers=[watcher], recorder=recorder)
    await session.run(source)
    trace = Trace.load(tmp_path / "trace.jsonl")
    ended = check_invariants(trace, [watcher])
    assert ended.reason == "source failed: Error : flac decoder lost sync."
    assert not ended.normal
    assert ended.heard_until == pytest.approx(4.8)
    assert [f.text for f in trace.of_type(ReplyFinished)] == ["one two three four five six"]
    assert source.closed


@pytest.mark.anyio
async def test_a_backend_failing_under_the_stop_policy_ends_the_session() -> None:
    watcher = Closing()
    config = SessionConfig(perceiver_failure=FailurePolicy(on_exhausted=FailureAction.STOP))
    session = Session(FailingPerceiver(at=2.0), TurnEndDecider(), ScriptedResponder(), config=config,
                      observers=[watcher])
    trace = await session.run(silence(10))
    ended = check_invariants(trace, [watcher])
    assert ended.reason == "failed: perceiver failed: model crashed"
    assert session.ended is ended


@pytest.mark.anyio
async def test_stop_with_a_reason_cuts_the_reply_in_flight_and_ends_within_the_grace_period() -> None:
    watcher = Closing()
    responder = ScriptedResponder("word " * 200, tokens_per_second=5, word_seconds=0.3)  # a minute-long reply
    session = Session(ScriptedPerceiver(turns(1)), TurnEndDecider(), responder, observers=[watcher])
    async with session.start(silence(600)) as events:
        async for event in events:
            if isinstance(event, ReplyAudio):
                stopped_at = event.at
                session.stop(reason="SIGTERM")
    trace = session.trace
    ended = check_invariants(trace, [watcher])
    assert ended.reason == "stopped: SIGTERM"
    assert not ended.normal
    assert ended.at - stopped_at <= session.config.stop_grace
    (cancelled,) = trace.of_type(ReplyCancelled)
    assert cancelled.reason == "session ended"


@pytest.mark.anyio
async def test_cancelling_the_task_that_runs_the_session_still_ends_it() -> None:
    watcher = Closing()
    session = Session(ScriptedPerceiver(turns(3)), TurnEndDecider(), speaking_responder(), observers=[watcher])
    with anyio.move_on_after(4.5):
        await session.run(silence(60))
    ended = check_invariants(session.trace, [watcher])
    assert ended.reason == "cancelled"


@pytest.mark.anyio
async def test_an_observer_failing_to_close_does_not_skip_the_others(caplog: pytest.LogCaptureFixture) -> None:
    first, broken, last = Closing(), Closing(fail=True), Closing()
    session = Session(ScriptedPerceiver(), TurnEndDecider(), ScriptedResponder(), observers=[first, broken, last])
    trace = await session.run(silence(1))
    check_invariants(trace, [first, broken, last])
    assert session.statistics().observer_failures == 1
    assert "Closing failed to close" in caplog.text


@pytest.mark.anyio
async def test_recording_is_a_choice_and_reply_samples_are_never_kept(tmp_path: Path) -> None:
    ring = RingRecorder(capacity=50)
    session = Session(ScriptedPerceiver(turns(2)), TurnEndDecider(), speaking_responder(), recorder=ring)
    trace = await session.run(silence(20))
    assert len(trace) == 50  # the newest 50 events
    assert ring.dropped > 0
    assert trace.meta["dropped_records"] == ring.dropped
    assert trace.ended is not None
    assert all(a.samples is None for a in trace.of_type(ReplyAudio))

    nothing = Session(ScriptedPerceiver(turns(1)), TurnEndDecider(), speaking_responder(), recorder=NoRecording())
    assert len(await nothing.run(silence(5))) == 0


def test_a_streamed_trace_is_byte_identical_to_the_one_kept_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "streamed.jsonl"

    async def streamed() -> str:
        await Session(ScriptedPerceiver(turns(2)), TurnEndDecider(), speaking_responder(),
                      recorder=JsonlRecorder(path)).run(silence(20))
        return path.read_text()

    async def kept() -> str:
        session = Session(ScriptedPerceiver(turns(2)), TurnEndDecider(), speaking_responder(),
                          recorder=RingRecorder(capacity=None))
        return (await session.run(silence(20))).to_jsonl()

    assert run_virtual(streamed) == run_virtual(kept)


def test_a_trace_file_cut_mid_line_keeps_every_complete_line(tmp_path: Path) -> None:
    async def main() -> str:
        path = tmp_path / "t.jsonl"
        await Session(ScriptedPerceiver(turns(1)), TurnEndDecider(), speaking_responder(),
                      recorder=JsonlRecorder(path)).run(silence(4))
        return path.read_text()

    text = run_virtual(main)
    cut = text[: len(text) - 40]  # the writer was killed in the middle of the last line
    trace = Trace.from_jsonl(cut)
    assert trace.truncated
    assert not trace.complete
    assert len(trace) == text.count("\n") - 2  # header and the cut line are not records


def test_an_unwritable_trace_path_fails_before_the_session_starts(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot write the trace"):
        JsonlRecorder(tmp_path / "missing" / "t.jsonl")
    with pytest.raises(ConfigurationError, match="cannot write the trace"):
        JsonlRecorder(tmp_path)


KILLS = st.sampled_from(["stop", "stop_reason", "cancel", "perceiver_stop", "source_error", "observer_close", "none"])


@settings(max_examples=25, deadline=None)
@given(kill=KILLS, at=st.floats(0.0, 12.0), replies=st.integers(0, 4), chunk=st.sampled_from([0.1, 0.4, 1.0]))
def test_any_ending_at_any_moment_keeps_the_trace_invariants(kill: str, at: float, replies: int, chunk: float) -> None:
    async def main() -> tuple[Trace, Trace, list[Closing], Session]:
        watchers = [Closing(), Closing(fail=kill == "observer_close"), Closing()]
        config = SessionConfig(
            audio=AudioFormat(chunk_seconds=chunk),
            perceiver_failure=FailurePolicy(on_exhausted=FailureAction.STOP),
        )
        perceiver: Perceiver = FailingPerceiver(at) if kill == "perceiver_stop" else ScriptedPerceiver(turns(replies))
        source = BreakingSource(good=max(at, 0.1)) if kill == "source_error" else silence(15)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "t.jsonl"
            session = Session(perceiver, TurnEndDecider(), speaking_responder(), config=config,
                              observers=watchers, recorder=JsonlRecorder(path))

            async def killer() -> None:
                await anyio.sleep(at)
                if kill == "stop":
                    session.stop()
                elif kill == "stop_reason":
                    session.stop(reason="SIGINT")

            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(killer)
                    if kill == "cancel":
                        scope.deadline = anyio.current_time() + at
                    await session.run(source)
                    group.cancel_scope.cancel()
            return Trace.load(path), session.trace, watchers, session

    streamed, kept, watchers, session = run_virtual(main)
    ended = check_invariants(streamed, watchers)
    assert streamed.to_jsonl() == kept.to_jsonl()
    expected = {
        "stop": "stopped", "stop_reason": "stopped: SIGINT", "cancel": "cancelled", "none": "source_exhausted",
        "observer_close": "source_exhausted",
    }
    if kill in expected and ended.reason not in ("source_exhausted", expected[kill]):
        pytest.fail(f"{kill} at {at:.2f}s ended as {ended.reason!r}")
    if kill == "source_error":
        assert ended.reason.startswith("source failed")
    if kill == "perceiver_stop" and ended.reason != "source_exhausted":
        assert ended.reason == "failed: perceiver failed: model crashed"
    assert session.ended == ended


def test_heard_from_starts_stream_time_when_a_live_source_began() -> None:
    """Audio heard before the session started (backends loading) is already due: pacing does not hold it."""

    async def main(late: bool) -> list[float]:
        clock = LoopClock()
        began = clock.now()
        await clock.sleep(1.0)  # the backends load while the client already streams
        session = Session(ScriptedPerceiver(), TurnEndDecider(), ScriptedResponder("ok"))
        trace = await session.run(ArraySource(np.zeros(32000, dtype=np.float32), 16000),
                                  heard_from=began if late else None)
        return [record.at for record in trace if isinstance(record.event, AudioReceived)]

    assert run_virtual(main, True)[:4] == [1.0, 1.0, 1.2, 1.6]
    assert run_virtual(main, False)[:2] == [0.4, 0.8]

    async def refused() -> None:
        session = Session(ScriptedPerceiver(), TurnEndDecider(), ScriptedResponder("ok"))
        with pytest.raises(ConfigurationError, match="heard_from must be a clock time no later than now"):
            await session.run(ArraySource(np.zeros(1600, dtype=np.float32), 16000),
                              heard_from=LoopClock().now() + 5)

    run_virtual(refused)
