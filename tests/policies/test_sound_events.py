from __future__ import annotations

import pytest

from audiointeract.backends.mock import ScriptedAction, ScriptedDecider
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, ReplyCancelled, StandingTask
from audiointeract.policies import CompositePolicy, SoundEventPolicy
from audiointeract.policies.sound_events import SAFETY_LABELS

pytestmark = pytest.mark.anyio

SMOKE = "Smoke detector, smoke alarm"
TASKS = [
    StandingTask(name="answer", instruction="answer"),
    StandingTask(name="safety", instruction="warn me", proactive=True),
]


def hops(tl, label: str, start: float, end: float, *, score: float = 0.8, hop: float = 0.96):
    out, t = [], start
    while t < end - 1e-9:
        out.append(tl.sound(t, min(end, t + hop), label, score))
        t += hop
    return out


async def test_alarm_warned_once_per_occurrence(tl) -> None:
    script = [*hops(tl, SMOKE, 3.0, 10.0), *hops(tl, SMOKE, 20.0, 23.0)]
    trace = await tl.run(SoundEventPolicy(), script, 25.0, tasks=TASKS)
    assert tl.times(trace) == [4.0, 21.2]  # first patch ends 3.96 s and 20.96 s
    assert {d.task for d in tl.acted(trace)} == {"safety"}
    assert tl.acted(trace)[0].evidence[0].label == SMOKE


async def test_routine_or_weak_sounds_are_ignored(tl) -> None:
    script = [*hops(tl, "Dog", 1.0, 4.0), *hops(tl, "Alarm clock", 5.0, 8.0), *hops(tl, "Siren", 9.0, 12.0, score=0.2)]
    trace = await tl.run(SoundEventPolicy(), script, 14.0, tasks=TASKS)
    assert tl.acted(trace) == []


async def test_alternative_label_names_and_per_label_tasks(tl) -> None:
    tasks = [*TASKS, StandingTask(name="baby", instruction="tell me if the baby cries", proactive=True)]
    policy = SoundEventPolicy(["smoke alarm", "baby cry"], task_for={"baby cry": "baby"})
    script = [tl.sound(1.0, 1.96, SMOKE), tl.sound(4.0, 4.96, "Baby cry, infant cry")]
    trace = await tl.run(policy, script, 7.0, tasks=tasks)
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(2.0, "safety"), (5.2, "baby")]


async def test_rearm_zero_fires_on_every_event(tl) -> None:
    script = hops(tl, "Siren", 1.0, 6.0, hop=1.2)
    trace = await tl.run(SoundEventPolicy(rearm=0.0), script, 8.0, tasks=TASKS, reply="Siren!")
    # events end at 2.2, 3.4, 4.6, 5.8 and 6.0 s: four decision points, each fires
    assert tl.times(trace) == [2.4, 3.6, 4.8, 6.0]


async def test_no_warning_without_a_task_to_serve(tl) -> None:
    """Only the answer task: no proactive task asked for warnings; a named task the session lacks neither."""
    script = [tl.sound(1.0, 1.96, SMOKE, 0.9)]
    assert tl.acted(await tl.run(SoundEventPolicy(), script, 4.0)) == []
    assert tl.acted(await tl.run(SoundEventPolicy(task="alarms"), script, 4.0, tasks=TASKS)) == []


async def test_held_while_agent_speaks_then_warned(tl) -> None:
    # a question is being answered when the alarm starts; without barge-in the warning waits
    talk = ScriptedDecider([ScriptedAction(at=0.8, action=Action.RESPOND, task="answer")])
    policy = CompositePolicy([talk, SoundEventPolicy(hold=10.0)])
    reply = " ".join(["la"] * 10)  # plays from 0.8 s to ~2.8 s
    trace = await tl.run(
        policy, [tl.sound(1.2, 1.6, "Fire alarm")], 6.0, tasks=TASKS, reply=reply, tokens_per_second=5.0
    )
    responds = tl.acted(trace)
    assert [d.task for d in responds] == ["answer", "safety"]
    assert responds[1].heard_until > 2.8
    assert trace.of_type(ReplyCancelled) == []


async def test_barge_in_interrupts_then_warns(tl) -> None:
    talk = ScriptedDecider([ScriptedAction(at=0.8, action=Action.RESPOND, task="answer")])
    policy = CompositePolicy([talk, SoundEventPolicy(barge_in=True, speaking_threshold=0.7)])
    reply = " ".join(["la"] * 20)
    script = [tl.sound(1.2, 1.6, "Fire alarm", 0.6), tl.sound(2.0, 2.4, "Fire alarm", 0.9)]
    trace = await tl.run(policy, script, 8.0, tasks=TASKS, reply=reply, tokens_per_second=5.0)
    # 0.6 is below the speaking threshold; 0.9 at 2.4 s interrupts, the warning follows at the next chunk
    assert tl.times(trace, Action.INTERRUPT) == [2.4]
    assert tl.times(trace)[1:] == [2.8]
    assert len(trace.of_type(ReplyCancelled)) == 1


def test_safety_labels_are_real_audioset_names() -> None:
    assert SMOKE in SAFETY_LABELS
    assert "Siren" in SAFETY_LABELS
    assert "Alarm clock" not in SAFETY_LABELS


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"labels": []}, "labels"),
        ({"threshold": 1.5}, "threshold"),
        ({"speaking_threshold": -0.1}, "speaking_threshold"),
        ({"rearm": float("nan")}, "rearm"),
        ({"labels": ["Siren"], "task_for": {"Dog": "x"}}, "task_for"),
    ],
)
def test_misconfiguration(options, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SoundEventPolicy(**options)
