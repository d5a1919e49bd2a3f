from __future__ import annotations

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, ReplyStarted, SpeechActivity, StandingTask, TranscriptUpdate
from audiointeract.interfaces import DecisionContext
from audiointeract.policies import EndpointingPolicy

pytestmark = pytest.mark.anyio


async def test_complete_question_answered_after_min_delay(tl) -> None:
    trace = await tl.run(EndpointingPolicy(min_delay=0.5), tl.speech(1.0, 2.5, "What time is it?"), 6.0)
    # chunk ends 2.8 (0.3 s of silence) and 3.2 (0.7 s): the first with >= 0.5 s answers
    assert tl.times(trace) == [3.2]
    decision = tl.acted(trace)[0]
    assert decision.task == "answer"
    assert decision.score == 1.0
    assert len(trace.of_type(ReplyStarted)) == 1


async def test_digit_string_is_not_cut_off(tl) -> None:
    script = [*tl.speech(1.0, 2.6, "my number is four five"), *tl.speech(3.5, 4.4, "six seven eight nine, thanks.")]
    trace = await tl.run(EndpointingPolicy(min_delay=0.5, max_delay=2.0), script, 8.0)
    assert tl.times(trace) == [5.2]  # one answer, after the whole number
    cut = await tl.run(EndpointingPolicy(min_delay=0.5, max_delay=2.0, completeness=False), script, 8.0)
    assert tl.times(cut)[0] == 3.2  # without the completeness signal the pause ends the turn


async def test_incomplete_turn_answered_at_max_delay(tl) -> None:
    trace = await tl.run(
        EndpointingPolicy(min_delay=0.5, max_delay=2.0), tl.speech(1.0, 2.6, "so I was thinking about"), 8.0
    )
    assert tl.times(trace) == [4.8]  # 4.4 is 1.8 s of silence, 4.8 is 2.2 s
    assert tl.acted(trace)[0].score == 0.5


async def test_no_decision_before_min_delay(tl) -> None:
    for min_delay in (0.0, 0.4, 1.0, 1.5):
        trace = await tl.run(
            EndpointingPolicy(min_delay=min_delay, max_delay=3.0), tl.speech(1.0, 2.5, "Hello there."), 7.0
        )
        (when,) = tl.times(trace)
        assert when - 2.5 >= min_delay
        assert when - 2.5 < min_delay + 0.4  # the first chunk boundary after it


async def test_addressed_only_answers_questions_requests_and_names(tl) -> None:
    script = [
        *tl.speech(0.5, 1.9, "I had pasta for lunch."),
        *tl.speech(4.1, 5.0, "Turn on the lights."),
        *tl.speech(8.1, 9.0, "assistant the oven"),
        *tl.speech(12.1, 13.0, "The meeting went well."),
        *tl.speech(16.1, 17.0, "Is it going to rain"),
    ]
    trace = await tl.run(EndpointingPolicy(addressed_only=True), script, 20.0)
    assert tl.times(trace) == [5.2, 9.2, 17.2]
    assert "not addressed" in " ".join(d.reason for d in trace.of_type(type(tl.acted(trace)[0])))


async def test_backchannel_only_turn_is_not_answered(tl) -> None:
    trace = await tl.run(EndpointingPolicy(), tl.speech(1.0, 1.3, "Mm-hmm."), 5.0)
    assert tl.acted(trace) == []


async def test_speech_before_a_reply_is_served_once(tl) -> None:
    # the user goes on talking while the answer plays; that speech starts a new turn, answered after it
    script = [*tl.speech(1.0, 2.0, "What's the time?"), *tl.speech(3.0, 3.8, "And the date?")]
    trace = await tl.run(EndpointingPolicy(), script, 8.0, reply="It is noon.", tokens_per_second=4.0)
    assert tl.times(trace) == [2.4, 4.0]
    assert tl.acted(trace, Action.INTERRUPT) == []


async def test_without_vad_committed_words_mark_the_turn(tl) -> None:
    script = [TranscriptUpdate(span_start=1.0, span_end=2.0, committed="What day is it?")]
    trace = await tl.run(EndpointingPolicy(), script, 5.0)
    assert tl.times(trace) == [2.4]


async def test_task_defaults_to_first_non_proactive_task(tl) -> None:
    tasks = [
        StandingTask(name="alarm", instruction="warn me", proactive=True),
        StandingTask(name="chat", instruction="talk"),
    ]
    trace = await tl.run(EndpointingPolicy(), tl.speech(1.0, 2.0, "Hi there."), 4.0, tasks=tasks)
    assert [d.task for d in tl.acted(trace)] == ["chat"]
    explicit = await tl.run(EndpointingPolicy(task="alarm"), tl.speech(1.0, 2.0, "Hi there."), 4.0, tasks=tasks)
    assert [d.task for d in tl.acted(explicit)] == ["alarm"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_delay": -1.0}, "min_delay"),
        ({"max_delay": float("nan")}, "max_delay"),
        ({"min_delay": 2.0, "max_delay": 1.0}, "max_delay"),
        ({"min_delay": "soon"}, "min_delay"),
    ],
)
async def test_misconfiguration(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EndpointingPolicy(**options)  # type: ignore[arg-type]


def _context(heard_until: float, *, agent_speaking: bool, user_speaking: bool, cut: bool = False) -> DecisionContext:
    return DecisionContext(
        now=heard_until, heard_until=heard_until, agent_speaking=agent_speaking,
        active_reply=0 if agent_speaking else None, tasks=(StandingTask(name="answer", instruction="answer"),),
        transcript="", history=(), user_speaking=user_speaking, last_speech_end=None,
        last_reply_end=None if agent_speaking else heard_until, pending_chunks=0, last_reply_cut=cut,
    )


@pytest.mark.parametrize("cut", [True, False])
async def test_a_turn_is_picked_up_only_after_a_reply_that_was_cut(cut: bool) -> None:
    policy = EndpointingPolicy()
    first = [SpeechActivity(span_start=1.0, span_end=1.16, speaking=True),
             TranscriptUpdate(span_start=1.0, span_end=2.0, committed="What's the time?"),
             SpeechActivity(span_start=1.0, span_end=2.0, speaking=False)]
    answer = await policy.decide(_context(2.4, agent_speaking=False, user_speaking=False), first)
    assert answer.action is Action.RESPOND
    onset = [SpeechActivity(span_start=2.6, span_end=2.76, speaking=True)]
    await policy.decide(_context(2.8, agent_speaking=True, user_speaking=True), onset)
    await policy.decide(_context(3.0, agent_speaking=False, user_speaking=True, cut=cut), [])
    rest = [TranscriptUpdate(span_start=2.6, span_end=3.4, committed="And the date?"),
            SpeechActivity(span_start=2.6, span_end=3.4, speaking=False)]
    second = await policy.decide(_context(3.8, agent_speaking=False, user_speaking=False, cut=cut), rest)
    assert second.action is Action.RESPOND
    # a cut answer is one turn with what follows; an answer played to its end served its turn
    assert any(e in second.evidence for e in first) is cut
