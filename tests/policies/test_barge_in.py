from __future__ import annotations

import pytest

from audiointeract.backends.mock import ScriptedAction, ScriptedDecider
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, ReplyCancelled
from audiointeract.policies import CompositePolicy
from audiointeract.policies.barge_in import InterruptPolicy

pytestmark = pytest.mark.anyio

LONG_REPLY = " ".join(["word"] * 30)  # 0.2 s + 29 words at 5 words/s: the agent speaks from 0.8 s to ~6.8 s


def agent_speaking_from_0_8(policy: InterruptPolicy) -> CompositePolicy:
    return CompositePolicy([ScriptedDecider([ScriptedAction(at=0.8, action=Action.RESPOND)]), policy])


async def run(tl, policy: InterruptPolicy, script):
    return await tl.run(agent_speaking_from_0_8(policy), script, 9.0, reply=LONG_REPLY, tokens_per_second=5.0)


async def test_user_talking_over_the_reply_interrupts_after_min_speech(tl) -> None:
    trace = await run(tl, InterruptPolicy(min_speech=0.5), tl.speech(2.0, 4.0, "wait, that's not what I asked"))
    assert tl.times(trace, Action.INTERRUPT) == [2.8]  # 2.4 is 0.4 s of overlap, 2.8 is 0.8 s
    (cancelled,) = trace.of_type(ReplyCancelled)
    assert cancelled.reason == "barge-in"


async def test_short_sound_does_not_interrupt(tl) -> None:
    trace = await run(tl, InterruptPolicy(min_speech=0.5), tl.speech(2.0, 2.3, "hm"))
    assert tl.acted(trace, Action.INTERRUPT) == []
    assert trace.of_type(ReplyCancelled) == []


async def test_backchannel_words_do_not_interrupt_unless_configured(tl) -> None:
    script = tl.speech(2.0, 2.8, "Okay, yeah.")
    ignored = await run(tl, InterruptPolicy(min_speech=0.5), script)
    assert tl.acted(ignored, Action.INTERRUPT) == []
    taken = await run(tl, InterruptPolicy(min_speech=0.5, ignore_backchannel=False), script)
    assert tl.times(taken, Action.INTERRUPT) == [2.8]


async def test_min_words_waits_for_the_transcript(tl) -> None:
    trace = await run(tl, InterruptPolicy(min_speech=0.5, min_words=2), tl.speech(2.0, 4.0, "stop please"))
    assert tl.times(trace, Action.INTERRUPT) == [4.0]


async def test_silent_while_listening(tl) -> None:
    trace = await tl.run(InterruptPolicy(), tl.speech(1.0, 3.0, "hello there"), 4.0)
    assert [d.action for d in trace.of_type(type(tl.acted(trace, Action.SILENT)[0]))] == [Action.SILENT] * 10


async def test_one_interrupt_per_reply(tl) -> None:
    script = [*tl.speech(2.0, 3.0, "wait a second"), *tl.speech(3.2, 4.4, "no listen")]
    trace = await run(tl, InterruptPolicy(min_speech=0.5), script)
    assert len(tl.acted(trace, Action.INTERRUPT)) == 1


@pytest.mark.parametrize(
    ("options", "message"), [({"min_speech": -0.1}, "min_speech"), ({"min_words": 1.5}, "min_words")]
)
async def test_misconfiguration(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        InterruptPolicy(**options)  # type: ignore[arg-type]
