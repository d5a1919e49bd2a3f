"""AudioLMDecider against the fake vLLM server: logprobs, text fallback, audio through the tap."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from audiointeract.audio import AudioFormat, Rechunker
from audiointeract.backends.mock import ScriptedPerceiver
from audiointeract.backends.openai_compat import AudioLMDecider
from audiointeract.backends.openai_compat.decider import answer_probability, describe_perception
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, SoundEvent, StandingTask, TranscriptUpdate
from audiointeract.interfaces import DecisionContext

pytestmark = pytest.mark.anyio

HEARD = [TranscriptUpdate(span_start=0.4, span_end=1.6, committed="assistant what time is it")]


def context(heard_until: float = 2.0, *, speaking: bool = False) -> DecisionContext:
    return DecisionContext(
        now=heard_until,
        heard_until=heard_until,
        agent_speaking=speaking,
        active_reply=0 if speaking else None,
        tasks=(StandingTask(name="answer", instruction="Answer questions put to you."),),
        transcript="assistant what time is it",
        history=(),
        user_speaking=False,
        last_speech_end=1.6,
        last_reply_end=None,
        pending_chunks=0,
    )


def decider(fake: Any, **options: Any) -> AudioLMDecider:
    return AudioLMDecider(base_url=fake.base_url, trust_env=False, **options)


async def decide(fake: Any, **options: Any) -> Any:
    judge = decider(fake, **options)
    try:
        return await judge.decide(context(), HEARD)
    finally:
        await judge.aclose()


async def test_fake_vllm_decider_reads_logprobs(fake_vllm: Any) -> None:
    fake_vllm.logprobs = {"respond": np.log(0.72), "silent": np.log(0.18), "maybe": np.log(0.1)}
    decision = await decide(fake_vllm)
    assert decision.action is Action.RESPOND
    assert decision.score == pytest.approx(0.8)
    assert "logprobs" in decision.reason
    assert decision.task == "answer"
    assert decision.evidence == tuple(HEARD)
    body = fake_vllm.bodies("chat")[0]
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 10
    assert body["max_tokens"] == 1
    assert body["temperature"] == 0.0
    assert "Answer questions put to you." in body["messages"][0]["content"]
    assert "assistant what time is it" in body["messages"][1]["content"][0]["text"]


async def test_fake_vllm_decider_logprobs_silent_and_token_prefixes(fake_vllm: Any) -> None:
    fake_vllm.logprobs = {" Sil": np.log(0.6), "sil": np.log(0.2), "Res": np.log(0.2)}
    decision = await decide(fake_vllm)
    assert decision.action is Action.SILENT
    assert decision.score == pytest.approx(0.8)  # confidence in staying silent


async def test_fake_vllm_decider_threshold(fake_vllm: Any) -> None:
    fake_vllm.logprobs = {"respond": np.log(0.4), "silent": np.log(0.6)}
    assert (await decide(fake_vllm, threshold=0.3)).action is Action.RESPOND


@pytest.mark.parametrize(("answer", "action"), [("Respond.", Action.RESPOND), ("silent", Action.SILENT)])
async def test_fake_vllm_decider_text_fallback_without_logprobs(fake_vllm: Any, answer: str, action: Action) -> None:
    fake_vllm.answer = answer  # the server ignores the logprobs request
    decision = await decide(fake_vllm)
    assert decision.action is action
    assert "from text" in decision.reason


async def test_fake_vllm_decider_text_mode(fake_vllm: Any) -> None:
    fake_vllm.answer = "yes"
    decision = await decide(fake_vllm, logprobs=False, max_tokens=4)
    assert decision.action is Action.RESPOND
    body = fake_vllm.bodies("chat")[0]
    assert "logprobs" not in body
    assert body["max_tokens"] == 4


async def test_fake_vllm_decider_unreadable_answer_stays_silent(fake_vllm: Any) -> None:
    fake_vllm.answer = "Well, it depends"
    decision = await decide(fake_vllm)
    assert decision.action is Action.SILENT
    assert "unreadable" in decision.reason


async def test_fake_vllm_decider_sends_recent_heard_audio_from_the_tap(fake_vllm: Any) -> None:
    fake_vllm.logprobs = {"respond": 0.0}
    judge = decider(fake_vllm, audio_seconds=1.2)
    tapped = judge.tap(ScriptedPerceiver())
    rng = np.random.default_rng(0)
    for chunk in Rechunker(AudioFormat()).push((rng.standard_normal(4 * 16000) * 0.1).astype(np.float32)):
        await tapped.perceive(chunk)  # perception runs ahead of the decision point
    try:
        decision = await judge.decide(context(heard_until=2.0), HEARD)
    finally:
        await tapped.aclose()
        await judge.aclose()
    assert decision.action is Action.RESPOND
    assert fake_vllm.audio == [(16000, int(1.2 * 16000))]  # only audio heard by 2.0 s, the last 1.2 s of it
    parts = fake_vllm.bodies("chat")[0]["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "input_audio"]


async def test_fake_vllm_decider_does_not_ask_while_replying(fake_vllm: Any) -> None:
    judge = decider(fake_vllm)
    try:
        decision = await judge.decide(context(speaking=True), HEARD)
        quiet = await judge.decide(context(), ())
    finally:
        await judge.aclose()
    assert decision.action is Action.SILENT
    assert quiet.action is Action.SILENT
    assert fake_vllm.count("chat") == 0


def test_answer_probability_reads_both_forms() -> None:
    with_logprobs = {
        "choices": [
            {
                "message": {"content": "respond"},
                "logprobs": {"content": [{"token": "respond", "logprob": -0.1, "top_logprobs": []}]},
            }
        ]
    }
    assert answer_probability(with_logprobs, "respond", "silent") == (1.0, "logprobs")
    assert answer_probability({"choices": [{"message": {"content": "No."}}]}, "respond", "silent") == (0.0, "text")
    assert answer_probability({"choices": []}, "respond", "silent") is None


def test_decider_bad_config() -> None:
    with pytest.raises(ConfigurationError, match="threshold"):
        AudioLMDecider(threshold=1.5)
    with pytest.raises(ConfigurationError, match="differ"):
        AudioLMDecider(respond_word="Silent", silent_word="silent")


def test_sound_events_are_described_to_the_model() -> None:
    text = describe_perception(SoundEvent(span_start=1.0, span_end=2.0, label="Smoke alarm", score=0.9))
    assert "Smoke alarm" in text
    assert "1.0-2.0 s" in text


async def test_decider_over_an_in_process_transport() -> None:
    seen: list[httpx.Request] = []

    def answer(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"choices": [{"message": {"content": "silent"}}]})

    judge = AudioLMDecider(model="m", api_key="k", transport=httpx.MockTransport(answer))
    try:
        decision = await judge.decide(context(), HEARD)
    finally:
        await judge.aclose()
    assert decision.action is Action.SILENT
    assert [str(r.url) for r in seen] == ["http://127.0.0.1:8000/v1/chat/completions"]
    assert seen[0].headers["authorization"] == "Bearer k"
