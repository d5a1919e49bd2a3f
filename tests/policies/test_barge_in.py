from __future__ import annotations

import numpy as np
import pytest

from audiointeract.backends.mock import ScriptedAction, ScriptedDecider, ScriptedPerceiver, ScriptedResponder
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import ConfigurationError
from audiointeract.events import (
    Action,
    Decision,
    ReplyAudio,
    ReplyCancelled,
    ReplyFinished,
    ReplyPaused,
    ReplyResumed,
    TranscriptUpdate,
)
from audiointeract.policies import CompositePolicy
from audiointeract.policies.barge_in import InterruptPolicy, Overlap, Verdict, judge_overlap
from audiointeract.session import Session
from audiointeract.sources import ArraySource

pytestmark = pytest.mark.anyio

LONG_REPLY = " ".join(["word"] * 30)  # 0.2 s + 29 words at 5 words/s: the agent speaks from 0.8 s to ~6.8 s


def agent_speaking_from_0_8(policy: InterruptPolicy) -> CompositePolicy:
    return CompositePolicy([ScriptedDecider([ScriptedAction(at=0.8, action=Action.RESPOND)]), policy])


async def run(tl, policy: InterruptPolicy, script):
    return await tl.run(agent_speaking_from_0_8(policy), script, 9.0, reply=LONG_REPLY, tokens_per_second=5.0)


def held_at(trace) -> list[float]:
    return [round(d.heard_until or 0.0, 3) for d in trace.of_type(Decision) if d.hold]


async def test_the_reply_pauses_at_the_onset_and_stops_when_words_come(tl) -> None:
    script = [*tl.speech(2.0, 4.0, "wait, that's not what I asked")]
    script.insert(1, TranscriptUpdate(span_start=2.0, span_end=2.7, tentative="wait, that's"))
    trace = await run(tl, InterruptPolicy(), script)
    assert held_at(trace) == [2.0, 2.4]  # the onset's chunk and the next, still without words
    assert tl.times(trace, Action.INTERRUPT) == [2.8]  # the chunk that brings the first words
    (paused,) = trace.of_type(ReplyPaused)
    assert paused.at == pytest.approx(2.0)
    (cancelled,) = trace.of_type(ReplyCancelled)
    assert cancelled.reason == "barge-in"
    assert trace.of_type(ReplyResumed) == []


@pytest.mark.parametrize("text", ["", "Mm-hmm.", "Thank you.", "yeah, right"])
async def test_a_backchannel_or_a_sound_pauses_the_reply_then_it_plays_on(tl, text: str) -> None:
    trace = await run(tl, InterruptPolicy(), tl.speech(2.0, 2.7, text))
    assert tl.acted(trace, Action.INTERRUPT) == []
    assert trace.of_type(ReplyCancelled) == []
    (paused,) = trace.of_type(ReplyPaused)
    (resumed,) = trace.of_type(ReplyResumed)
    assert resumed.at == pytest.approx(2.8)  # the chunk that brings the end of the run and its words
    assert resumed.paused_for == pytest.approx(resumed.at - paused.at)


async def test_backchannel_words_interrupt_when_not_ignored(tl) -> None:
    trace = await run(tl, InterruptPolicy(ignore_backchannel=False), tl.speech(2.0, 2.7, "Okay, yeah."))
    assert tl.times(trace, Action.INTERRUPT) == [2.8]


async def test_min_words_and_min_speech(tl) -> None:
    trace = await run(tl, InterruptPolicy(min_words=2), tl.speech(2.0, 4.0, "stop please"))
    assert tl.times(trace, Action.INTERRUPT) == [4.0]  # the words come with the end of speech
    by_length = await run(tl, InterruptPolicy(min_words=0, min_speech=0.5, max_hold=3.0), tl.speech(2.0, 4.0))
    assert tl.times(by_length, Action.INTERRUPT) == [2.8]  # 2.4 is 0.4 s of speech, 2.8 is 0.8 s


async def test_no_verdict_within_max_hold_plays_on_and_late_words_still_interrupt(tl) -> None:
    script = [*tl.speech(2.0, 4.5, "please stop talking")]  # the words come only with the end, at 4.8
    trace = await run(tl, InterruptPolicy(max_hold=1.2), script)
    (resumed,) = trace.of_type(ReplyResumed)
    assert resumed.at == pytest.approx(3.2)  # held from 2.0 for 1.2 s
    assert tl.times(trace, Action.INTERRUPT) == [4.8]


async def test_under_fast_pacing_the_stream_goes_on_while_the_reply_is_paused(tl) -> None:
    """FAST pacing waits for a playing reply; a paused one must not hold the stream (it is what resumes it)."""
    session = Session(
        ScriptedPerceiver(tl.speech(2.0, 2.7, "Mm-hmm.")),
        agent_speaking_from_0_8(InterruptPolicy()),
        ScriptedResponder(LONG_REPLY, tokens_per_second=5.0, word_seconds=0.2),
        config=SessionConfig(pacing=Pacing.FAST),
    )
    trace = await session.run(ArraySource(np.zeros(9 * 16000, dtype=np.float32), 16000))
    (paused,) = trace.of_type(ReplyPaused)
    (resumed,) = trace.of_type(ReplyResumed)
    assert trace.of_type(ReplyFinished)  # played to its end after the pause
    assert paused.decision_id < resumed.decision_id
    plays = [a.play_at for a in trace.of_type(ReplyAudio)]
    assert plays == sorted(plays)
    assert plays[0] < 2.0  # the agent spoke before the onset
    # paused at the decision that heard the onset, played on at the one that heard the backchannel's end
    assert not [t for t in plays if 2.0 - 1e-6 <= t < 2.8 - 1e-6]
    assert plays[-1] > 2.8


async def test_without_hold_the_reply_plays_on_while_judged(tl) -> None:
    script = [*tl.speech(2.0, 4.0, "wait, that's not what I asked")]
    trace = await run(tl, InterruptPolicy(hold=False), script)
    assert trace.of_type(ReplyPaused) == []
    assert tl.times(trace, Action.INTERRUPT) == [4.0]


async def test_silent_while_listening(tl) -> None:
    trace = await tl.run(InterruptPolicy(), tl.speech(1.0, 3.0, "hello there"), 4.0)
    assert {d.action for d in trace.of_type(Decision)} == {Action.SILENT}
    assert held_at(trace) == []


async def test_one_interrupt_per_reply(tl) -> None:
    script = [*tl.speech(2.0, 3.0, "wait a second"), *tl.speech(3.2, 4.4, "no listen")]
    trace = await run(tl, InterruptPolicy(), script)
    assert len(tl.acted(trace, Action.INTERRUPT)) == 1


@pytest.mark.parametrize(
    ("overlap", "verdict"),
    [
        (Overlap(seconds=0.3, ended=False, text=""), Verdict.UNDECIDED),
        (Overlap(seconds=0.3, ended=False, text="Thank you"), Verdict.BACKCHANNEL),
        (Overlap(seconds=0.5, ended=True, text=""), Verdict.NOISE),
        (Overlap(seconds=0.5, ended=True, text="[BLANK_AUDIO]"), Verdict.NOISE),
        (Overlap(seconds=0.5, ended=True, text="Got it, thanks."), Verdict.BACKCHANNEL),
        (Overlap(seconds=0.5, ended=False, text="Okay, wait"), Verdict.INTERRUPTION),
        (Overlap(seconds=0.2, ended=False, text="stop"), Verdict.INTERRUPTION),
        (Overlap(seconds=0.2, ended=False, text="no"), Verdict.UNDECIDED),  # "no problem" may follow
        (Overlap(seconds=0.4, ended=True, text="no"), Verdict.INTERRUPTION),
        (Overlap(seconds=0.3, ended=False, text="Thank"), Verdict.UNDECIDED),
    ],
)
def test_judge_overlap(overlap: Overlap, verdict: Verdict) -> None:
    assert judge_overlap(overlap)[0] is verdict


@pytest.mark.parametrize(
    ("options", "message"),
    [({"min_speech": -0.1}, "min_speech"), ({"min_words": 1.5}, "min_words"), ({"max_hold": -1}, "max_hold")],
)
async def test_misconfiguration(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        InterruptPolicy(**options)  # type: ignore[arg-type]
