"""What the client steers: replies on request, cancels, turn-detection gates, hang-up, instructions."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.lowlevel
import pytest

from audiointeract.backends.prompting import ChatPrompt
from audiointeract.events import Action, Decision, Perception, ResponseRequest, StandingTask, Turn
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.realtime.controls import (
    CLIENT_CANCEL,
    CLIENT_CREATE,
    ClientControls,
    ControlledDecider,
    InstructionsPrompt,
)

pytestmark = pytest.mark.anyio


class Says(Decider):
    """Always says ``action``; counts its calls."""

    def __init__(self, action: Action) -> None:
        self.action = action
        self.calls = 0

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        self.calls += 1
        return Decision(action=self.action, reason="policy", task="answer")


def context(*, speaking: bool) -> DecisionContext:
    return DecisionContext(now=1.0, heard_until=1.0, agent_speaking=speaking, active_reply=0 if speaking else None,
                           tasks=(StandingTask(name="answer", instruction="Answer."),), transcript="", history=(),
                           user_speaking=False, last_speech_end=None, last_reply_end=None, pending_chunks=0)


async def decide(decider: ControlledDecider, *, speaking: bool = False) -> Decision:
    return await decider.decide(context(speaking=speaking), ())


async def test_response_create_answers_at_the_next_decision_point_once() -> None:
    inner = Says(Action.SILENT)
    controls = ClientControls()
    decider = ControlledDecider(inner, controls)
    controls.request_response("Be terse.")
    decision = await decide(decider)
    assert (decision.action, decision.reason, decision.task) == (Action.RESPOND, CLIENT_CREATE, "answer")
    assert (await decide(decider)).action is Action.SILENT
    assert inner.calls == 2  # the policy saw every decision point


async def test_a_requested_reply_waits_until_the_agent_is_done() -> None:
    controls = ClientControls()
    decider = ControlledDecider(Says(Action.SILENT), controls)
    controls.request_response(None)
    assert (await decide(decider, speaking=True)).action is Action.SILENT
    assert (await decide(decider)).action is Action.RESPOND


async def test_response_cancel_interrupts_or_withdraws() -> None:
    controls = ClientControls()
    decider = ControlledDecider(Says(Action.SILENT), controls)
    controls.request_cancel()
    decision = await decide(decider, speaking=True)
    assert (decision.action, decision.reason) == (Action.INTERRUPT, CLIENT_CANCEL)
    controls.request_response(None)
    controls.request_cancel()  # withdrawn before it started
    assert (await decide(decider)).action is Action.SILENT


@pytest.mark.parametrize(("flag", "action"), [("create_response", Action.RESPOND),
                                              ("interrupt_response", Action.INTERRUPT)])
async def test_turn_detection_gates_the_policy(flag: str, action: Action) -> None:
    controls = ClientControls()
    setattr(controls, flag, False)
    decision = await decide(ControlledDecider(Says(action), controls), speaking=action is Action.INTERRUPT)
    assert decision.action is Action.SILENT
    assert "the policy said: policy" in decision.reason


def request() -> ResponseRequest:
    return ResponseRequest(reply_id=0, decision=Decision(action=Action.RESPOND), task=None, transcript="hi",
                           history=(Turn(role="user", text="What time is it?"),))


async def test_instructions_follow_the_session_whose_reply_it_is() -> None:
    prompt = InstructionsPrompt(ChatPrompt(persona="Default persona."))
    seen: dict[str, str] = {}

    async def reply(name: str) -> None:
        await anyio.lowlevel.checkpoint()
        seen[name] = prompt(request())[0]["content"]

    async def session(name: str, instructions: str | None) -> None:
        controls = ClientControls(instructions=instructions)
        controls.activate()
        async with anyio.create_task_group() as group:  # the reply runs in a task the session started
            group.start_soon(reply, name)

    async with anyio.create_task_group() as group:
        group.start_soon(session, "cook", "You are a cook.")
        group.start_soon(session, "plain", None)
    assert seen == {"cook": "You are a cook.", "plain": "Default persona."}
    assert prompt(request())[0]["content"] == "Default persona."  # outside any connection


async def test_reply_instructions_apply_to_one_reply() -> None:
    prompt = InstructionsPrompt(ChatPrompt(persona="Default persona."))
    controls = ClientControls(instructions="Session persona.")
    controls.activate()
    controls.request_response("Just this once.")
    assert prompt(request())[0]["content"] == "Just this once."
    assert prompt(request())[0]["content"] == "Session persona."
