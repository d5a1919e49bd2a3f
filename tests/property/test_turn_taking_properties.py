"""Properties of the turn-taking rules on the virtual clock: pauses, barge-in and backchannels.

Random scripts of what a perfect perceiver reports run through the real session and the
default policy, in 0.1 s chunks with reply audio playing in 0.1 s blocks.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from audiointeract.audio import AudioFormat
from audiointeract.backends.mock import ScriptedAction, ScriptedDecider, ScriptedPerceiver, ScriptedResponder
from audiointeract.config import SessionConfig
from audiointeract.events import (
    Action,
    Decision,
    Perception,
    ReplyAudio,
    ReplyCancelled,
    ReplyPaused,
    ReplyResumed,
    SpeechActivity,
    TranscriptUpdate,
    TurnEndEstimate,
)
from audiointeract.policies import CompositePolicy, default_policy
from audiointeract.policies._text import BACKCHANNEL_PHRASES, BACKCHANNEL_WORDS
from audiointeract.policies.barge_in import InterruptPolicy
from audiointeract.session import Session
from audiointeract.simulators import run_virtual
from audiointeract.sources import ArraySource
from audiointeract.trace import Trace

CHUNK = 0.1
BLOCK = 0.1
EPS = 1e-6
MAX_DELAY = 2.0
MAX_HOLD = 1.5
CONFIG = SessionConfig(audio=AudioFormat(chunk_seconds=CHUNK), audio_block_seconds=BLOCK)
INCOMPLETE = ["please enter your", "I would like to", "call my", "the number is four five", "set a timer for"]
COMPLETE_LOOKING = ["please enter your password", "what time is it", "turn on the lights"]
CONTINUATIONS = ["password now please.", "book a table for two, please.", "mother, please."]


def run(script: list[Perception], seconds: float, decider=None, *, agent_from: float | None = None) -> Trace:
    """``seconds`` of silent audio with ``script`` as its perceptions; the default policy unless told."""
    if decider is None:
        decider = default_policy()
    if agent_from is not None:  # the agent starts a long reply at ``agent_from`` whatever was said
        decider = CompositePolicy([ScriptedDecider([ScriptedAction(at=agent_from, action=Action.RESPOND)]), decider])

    async def main() -> Trace:
        session = Session(
            ScriptedPerceiver(script),
            decider,
            ScriptedResponder(" ".join(["word"] * 60), tokens_per_second=5.0, first_token_delay=0.1,
                              word_seconds=0.2),
            config=CONFIG,
        )
        return await session.run(ArraySource(np.zeros(round(seconds * 16000), dtype=np.float32), 16000))

    return run_virtual(main)


def utterance(start: float, end: float, text: str, *, words_at: float | None = None) -> list[Perception]:
    """Onset (confirmed 0.16 s in), the words (the first, tentatively, at ``words_at``; all at the end), the end.

    A recogniser hears words only once the speech detector has confirmed the onset.
    """
    confirmed = min(end, start + 0.16)
    out: list[Perception] = [SpeechActivity(span_start=start, span_end=confirmed, speaking=True)]
    if words_at is not None and text:
        tentative_end = max(words_at, confirmed)  # a run shorter than the confirmation has its words at the end
        out.append(TranscriptUpdate(span_start=start, span_end=tentative_end, tentative=text.split(maxsplit=1)[0]))
    if text:
        out.append(TranscriptUpdate(span_start=start, span_end=end, committed=text))
    out.append(SpeechActivity(span_start=start, span_end=end, speaking=False))
    return out


@st.composite
def paused_turns(draw: st.DrawFn) -> tuple[list[Perception], float, float]:
    """A request cut by a pause shorter than the bound after a fragment that reads (or is judged) incomplete."""
    start = draw(st.floats(0.3, 1.5))
    fragment_end = start + draw(st.floats(0.5, 2.5))
    pause = draw(st.floats(0.1, MAX_DELAY - 2 * CHUNK))
    resume = fragment_end + pause
    end = resume + draw(st.floats(0.5, 2.0))
    script = []
    if draw(st.booleans()):
        script += utterance(start, fragment_end, draw(st.sampled_from(INCOMPLETE)))
    else:  # the words look finished, the end-of-turn model says they are not
        script += utterance(start, fragment_end, draw(st.sampled_from(COMPLETE_LOOKING)))
        estimate = TurnEndEstimate(span_start=start, span_end=fragment_end + 0.2, probability=draw(st.floats(0, 0.09)),
                                   speech_end=fragment_end)
        script.insert(-1, estimate)
    script += utterance(resume, end, draw(st.sampled_from(CONTINUATIONS)))
    return script, fragment_end, resume


@settings(deadline=None, max_examples=15)
@given(paused_turns())
def test_no_respond_inside_an_incomplete_turn_pause_shorter_than_the_bound(case) -> None:
    script, fragment_end, resume = case
    trace = run(script, resume + 4.0)
    responds = [d.heard_until or 0.0 for d in trace.of_type(Decision) if d.action is Action.RESPOND]
    # the policy sees the continuation with the chunk its confirmed onset falls in
    seen = resume + 0.16
    assert not [t for t in responds if fragment_end - EPS <= t < seen - EPS]
    assert len([t for t in responds if t >= seen]) == 1  # the whole turn is answered once


@settings(deadline=None, max_examples=15)
@given(st.floats(1.2, 3.0), st.floats(0.2, 1.3), st.floats(0.3, 1.5))
def test_a_confirmed_interruption_silences_the_reply_within_the_bound(onset: float, words_after: float,
                                                                      length: float) -> None:
    end = onset + words_after + length
    script = utterance(onset, end, "wait stop please", words_at=onset + words_after)
    trace = run(script, end + 2.0, InterruptPolicy(max_hold=MAX_HOLD), agent_from=0.5)
    seen = next(d for d in trace.of_type(Decision) if (d.heard_until or 0.0) >= onset + 0.16 - EPS)
    assert seen.decided_at is not None
    audio = [a for a in trace.of_type(ReplyAudio) if a.reply_id == 0]
    assert audio
    assert audio[0].play_at < onset
    # not one block starts after the decision point that heard the confirmed onset: silent within a block
    assert not [a for a in audio if a.play_at > seen.decided_at + EPS]
    (cancelled,) = trace.of_type(ReplyCancelled)
    interrupt = next(d for d in trace.of_type(Decision) if d.action is Action.INTERRUPT)
    # stopped at the first decision point that has a word that is not an acknowledgement
    assert cancelled.decision_id == interrupt.id
    assert interrupt.heard_until is not None
    assert interrupt.heard_until - (onset + words_after) < CHUNK + EPS


BACKCHANNELS = sorted(BACKCHANNEL_PHRASES | (BACKCHANNEL_WORDS - {"um", "uh"}))


@settings(deadline=None, max_examples=15)
@given(st.lists(st.tuples(st.floats(0.2, 2.0), st.floats(0.1, 1.2), st.sampled_from(BACKCHANNELS),
                          st.booleans()), min_size=1, max_size=4))
@example([(1.0, 0.25, "absolutely", False), (1.25, 0.125, "that's right", True)])  # a run shorter than its onset
def test_a_backchannel_only_run_never_interrupts(runs) -> None:
    script: list[Perception] = []
    t = 1.0
    for gap, length, text, tentative_first in runs:
        t += gap
        script += utterance(t, t + length, text, words_at=t + length / 2 if tentative_first else None)
        t += length
    trace = run(script, t + 1.5, default_policy(), agent_from=0.5)
    assert not [d for d in trace.of_type(Decision) if d.action is Action.INTERRUPT]
    assert trace.of_type(ReplyCancelled) == [] or all(c.reason != "barge-in" for c in trace.of_type(ReplyCancelled))
    assert len(trace.of_type(ReplyResumed)) == len(trace.of_type(ReplyPaused))  # every pause is lifted
