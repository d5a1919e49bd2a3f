from __future__ import annotations

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import StandingTask, TranscriptUpdate
from audiointeract.policies import KeywordPolicy

pytestmark = pytest.mark.anyio


def words(start: float, end: float, text: str) -> TranscriptUpdate:
    return TranscriptUpdate(span_start=start, span_end=end, committed=text)


async def test_wake_phrase_answers_when_the_user_pauses(tl) -> None:
    script = [*tl.speech(1.0, 3.0, ""), words(1.0, 1.6, "Hey, Computer!"), words(1.6, 3.0, "what's the time")]
    trace = await tl.run(KeywordPolicy("hey computer"), script, 5.0)
    assert tl.times(trace) == [3.2]  # matched at 1.6 s, served once the user stopped (3.0 s)
    assert "hey computer" in tl.acted(trace)[0].reason


async def test_phrase_split_across_updates_matches_once(tl) -> None:
    script = [words(1.0, 1.5, "ok hey"), words(1.5, 2.0, "computer turn it off")]
    trace = await tl.run(KeywordPolicy("hey computer"), script, 4.0)
    assert tl.times(trace) == [2.0]


async def test_each_occurrence_triggers_once(tl) -> None:
    script = [words(1.0, 2.0, "budget"), words(4.0, 5.0, "the budget again and budget")]
    trace = await tl.run(KeywordPolicy(["budget", "deadline"]), script, 9.0, reply="Noted.")
    assert len(tl.acted(trace)) == 3
    assert tl.times(trace)[0] == 2.0


async def test_no_match_no_reply_and_task_mapping(tl) -> None:
    tasks = [
        StandingTask(name="answer", instruction="answer"),
        StandingTask(name="money", instruction="budget", proactive=True),
    ]
    script = [words(1.0, 2.0, "the weather is nice"), words(3.0, 3.5, "BUDGET!")]
    trace = await tl.run(KeywordPolicy("budget", task_for={"budget": "money"}), script, 5.0, tasks=tasks)
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(3.6, "money")]


async def test_match_while_agent_speaks_waits_for_it(tl) -> None:
    script = [words(0.5, 0.8, "assistant"), words(1.0, 1.2, "assistant")]
    trace = await tl.run(KeywordPolicy("assistant"), script, 6.0, reply=" ".join(["la"] * 10), tokens_per_second=5.0)
    first, second = tl.times(trace)
    assert first == 0.8
    assert second > 2.6  # the first reply (0.2 s + 9 words at 5/s) was still playing at 1.2 s


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        ((), {"keywords": []}, "keywords"),
        ((), {"keywords": ["  "]}, "keywords"),
        ((), {"keywords": ["?!"]}, "no words"),
        (("budget",), {"task_for": {"money": "x"}}, "task_for"),
        (("budget",), {"hold": -1}, "hold"),
    ],
)
async def test_misconfiguration(args, options, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        KeywordPolicy(*args, **options)


async def test_a_keyword_whose_task_the_session_lacks_is_not_answered(tl) -> None:
    watch = [StandingTask(name="watch", instruction="tell me about the budget", proactive=True)]
    script = [words(1.0, 1.6, "hey computer")]
    assert tl.acted(await tl.run(KeywordPolicy("hey computer"), script, 4.0, tasks=watch)) == []
    mapped = KeywordPolicy("hey computer", task_for={"hey computer": "watch"})
    assert [d.task for d in tl.acted(await tl.run(mapped, script, 4.0, tasks=watch))] == ["watch"]
