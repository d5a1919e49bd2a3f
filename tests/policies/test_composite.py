from __future__ import annotations

import pytest

from audiointeract.backends.mock import ScriptedAction, ScriptedDecider
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, StandingTask
from audiointeract.policies import CompositePolicy, EndpointingPolicy, SoundEventPolicy

pytestmark = pytest.mark.anyio

TASKS = [
    StandingTask(name="answer", instruction="answer"),
    StandingTask(name="safety", instruction="warn me", proactive=True, priority=5),
    StandingTask(name="chat", instruction="chat", proactive=True, priority=1),
]


def scripted(at: float, action: Action, task: str | None = None) -> ScriptedDecider:
    return ScriptedDecider([ScriptedAction(at=at, action=action, task=task, reason=f"{action.value}:{task}")])


async def test_member_priority_wins_then_task_priority_then_order(tl) -> None:
    ctx = tl.context(2.0, tasks=TASKS)
    by_member = CompositePolicy(
        [(scripted(1.0, Action.RESPOND, "answer"), 1), (scripted(1.0, Action.RESPOND, "safety"), 0)]
    )
    assert (await by_member.decide(ctx, ())).task == "answer"
    by_task = CompositePolicy([scripted(1.0, Action.RESPOND, "chat"), scripted(1.0, Action.RESPOND, "safety")])
    assert (await by_task.decide(ctx, ())).task == "safety"
    by_order = CompositePolicy([scripted(1.0, Action.RESPOND, "answer"), scripted(1.0, Action.BACKCHANNEL)])
    assert (await by_order.decide(ctx, ())).action is Action.RESPOND


async def test_only_actions_the_session_can_carry_out_win(tl) -> None:
    policy = CompositePolicy([(scripted(1.0, Action.RESPOND, "answer"), 9), scripted(1.0, Action.INTERRUPT)])
    speaking = await policy.decide(tl.context(2.0, agent_speaking=True, active_reply=0), ())
    assert speaking.action is Action.INTERRUPT
    listening = CompositePolicy([scripted(1.0, Action.INTERRUPT)])
    decision = await listening.decide(tl.context(2.0), ())
    assert decision.action is Action.SILENT
    assert "interrupt not possible now" in decision.reason


async def test_every_member_sees_every_perception(tl) -> None:
    # the alarm and the end of the question land in the same chunk: the warning wins, and both members kept state
    script = [*tl.speech(1.0, 2.2, "What's for dinner?"), tl.sound(2.5, 2.8, "Fire alarm")]
    policy = CompositePolicy([(SoundEventPolicy(), 2), (EndpointingPolicy(min_delay=0.4), 1)])
    trace = await tl.run(policy, script, 8.0, tasks=TASKS)
    first = tl.acted(trace)[0]
    assert (first.heard_until, first.task) == (2.8, "safety")


async def test_all_silent_gives_silent(tl) -> None:
    policy = CompositePolicy([ScriptedDecider(), ScriptedDecider()])
    assert (await policy.decide(tl.context(1.0), ())) == Decision.silent()


def test_misconfiguration() -> None:
    with pytest.raises(ConfigurationError, match="at least one"):
        CompositePolicy([])
    with pytest.raises(ConfigurationError, match="not a Decider"):
        CompositePolicy(["endpointing"])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="priority"):
        CompositePolicy([(ScriptedDecider(), "high")])  # type: ignore[list-item]


class Prepares(ScriptedDecider):
    async def decide(self, context, perceptions):  # type: ignore[no-untyped-def]
        return Decision.preparing("answer", (), reason="turn looks complete")


async def test_a_prepared_reply_is_passed_on_when_nothing_wins_and_dropped_while_the_agent_speaks(tl) -> None:
    policy = CompositePolicy([(scripted(5.0, Action.RESPOND, "safety"), 9), Prepares()])
    decision = await policy.decide(tl.context(2.0, tasks=TASKS), ())
    assert decision.prepare
    assert decision.task == "answer"
    assert not (await policy.decide(tl.context(3.0, tasks=TASKS, agent_speaking=True, active_reply=0), ())).prepare
    assert (await policy.decide(tl.context(5.0, tasks=TASKS), ())).action is Action.RESPOND  # a winner beats it
