"""The default prompt template: ResponseRequest -> chat messages."""

from __future__ import annotations

import pytest

from audiointeract.backends.prompting import DEFAULT_PERSONA, ChatPrompt, describe_trigger
from audiointeract.errors import ConfigurationError
from audiointeract.events import (
    Action,
    Decision,
    ResponseRequest,
    SoundEvent,
    SpeechActivity,
    StandingTask,
    Turn,
)

ANSWER = StandingTask(name="answer", instruction="Answer questions addressed to you.")
WARN = StandingTask(name="warn", instruction="Warn me when an alarm sounds.", proactive=True)


def make(**fields: object) -> ResponseRequest:
    values: dict[str, object] = {
        "reply_id": 0, "decision": Decision(action=Action.RESPOND), "task": ANSWER, "transcript": "", **fields
    }
    return ResponseRequest(**values)  # type: ignore[arg-type]


def test_conversation_with_the_latest_user_turn_last() -> None:
    history = (
        Turn(role="user", text="hi there"),
        Turn(role="assistant", text="Hello!"),
        Turn(role="user", text=" what time is it? "),
    )
    messages = ChatPrompt()(make(history=history, transcript="hi there what time is it?"))
    assert messages == [
        {"role": "system", "content": DEFAULT_PERSONA},
        {"role": "user", "content": "hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "what time is it?"},
    ]


def test_history_is_bounded_and_reactive_task_instructions_are_optional() -> None:
    history = tuple(Turn(role="user" if i % 2 == 0 else "assistant", text=f"turn {i}") for i in range(9))
    messages = ChatPrompt(history_turns=2, all_tasks=True)(make(history=history))
    assert messages[0]["content"] == f"{DEFAULT_PERSONA} Your task: {ANSWER.instruction}"
    assert [m["content"] for m in messages[1:]] == ["turn 6", "turn 7", "turn 8"]
    assert [m["content"] for m in ChatPrompt(history_turns=0)(make(history=history))[1:]] == ["turn 8"]


def test_proactive_reply_to_a_sound_gets_the_task_and_the_trigger() -> None:
    alarm = SoundEvent(span_start=3.0, span_end=4.0, label="Smoke detector, smoke alarm", score=0.91)
    history = (Turn(role="user", text="what is for dinner"), Turn(role="assistant", text="Pasta."))
    messages = ChatPrompt()(make(task=WARN, trigger=alarm, history=history, transcript="what is for dinner"))
    system = messages[0]["content"]
    assert WARN.instruction in system
    assert "Smoke detector, smoke alarm (confidence 0.91)" in system
    # the reply is about the sound, not about the last thing said
    sound_turn = "(Smoke detector, smoke alarm heard.) What should I know or do?"
    assert messages[-1] == {"role": "user", "content": sound_turn}
    assert messages[-2] == {"role": "assistant", "content": "Pasta."}
    silent = ChatPrompt(transcript_chars=0)(make(task=WARN, trigger=alarm))
    assert silent[-1] == {"role": "user", "content": sound_turn}


def test_stand_ins_when_nothing_was_transcribed() -> None:
    speech = SpeechActivity(span_start=0.0, span_end=1.0, speaking=False)
    assert ChatPrompt()(make(trigger=speech))[-1]["content"] == "(The user spoke, but the words were not recognised.)"
    assert ChatPrompt()(make())[-1]["content"] == "(Nothing was said.)"
    assert ChatPrompt(transcript_chars=5)(make(transcript="a long transcript"))[-1]["content"] == "cript"
    assert describe_trigger(speech) == ""


def test_bad_options() -> None:
    with pytest.raises(ConfigurationError, match="history_turns"):
        ChatPrompt(history_turns=-1)
