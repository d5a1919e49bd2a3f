"""AudioLMDecider against the fake vLLM server: logprobs, text fallback, the session's audio (context.audio)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np
import pytest

from audiointeract.audio import FloatArray
from audiointeract.backends.audio_lm_prompt import describe_perception
from audiointeract.backends.mock import ScriptedPerceiver, ScriptedResponder
from audiointeract.backends.openai_compat.decider import AudioLMDecider, answer_probability
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import BackendError, ConfigurationError
from audiointeract.events import Action, Decision, Perception, ReplyStarted, SoundEvent, StandingTask, TranscriptUpdate
from audiointeract.interfaces import DecisionContext
from audiointeract.session import Session
from audiointeract.sources import ArraySource

pytestmark = pytest.mark.anyio

HEARD = [TranscriptUpdate(span_start=0.4, span_end=1.6, committed="assistant what time is it")]


def context(heard_until: float = 2.0, *, speaking: bool = False, audio: FloatArray | None = None) -> DecisionContext:
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
        audio=audio,
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
    assert [part["type"] for part in body["messages"][1]["content"]] == ["text"]  # no context.audio: text only


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


async def test_fake_vllm_decider_sends_context_audio_at_its_sample_rate(fake_vllm: Any) -> None:
    fake_vllm.logprobs = {"respond": 0.0}
    audio = np.full(8000, 0.1, np.float32)
    judge = decider(fake_vllm, sample_rate=8000)
    try:
        decision = await judge.decide(context(audio=audio), ())  # audio alone is reason to ask
        await judge.decide(context(audio=np.zeros(0, np.float32)), HEARD)
    finally:
        await judge.aclose()
    assert decision.action is Action.RESPOND
    assert fake_vllm.audio == [(8000, 8000)]  # the empty array is not sent
    parts = fake_vllm.bodies("chat")[0]["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "input_audio"]


async def test_fake_vllm_decider_send_audio_off_stays_text_only(fake_vllm: Any) -> None:
    judge = decider(fake_vllm, send_audio=False)
    try:
        quiet = await judge.decide(context(audio=np.ones(1600, np.float32)), ())
        await judge.decide(context(audio=np.ones(1600, np.float32)), HEARD)
    finally:
        await judge.aclose()
    assert quiet.reason == "nothing new heard"
    assert fake_vllm.count("chat") == 1
    assert fake_vllm.audio == []


class RecordingDecider(AudioLMDecider):
    """The decider under test, noting the ``heard_until`` and ``audio`` of every context it gets."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.contexts: list[tuple[float, FloatArray | None]] = []

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        self.contexts.append((context.heard_until, context.audio))
        return await super().decide(context, perceptions)


async def test_fake_vllm_decider_hears_the_session_audio(fake_vllm: Any) -> None:
    """In a real Session, ``request_audio_seconds`` gives the decider the audio heard up to each decision point."""
    fake_vllm.logprobs = {"respond": 0.0}
    judge = RecordingDecider(base_url=fake_vllm.base_url, trust_env=False)
    session = Session(ScriptedPerceiver(HEARD), judge, ScriptedResponder("It is noon."),
                      config=SessionConfig(pacing=Pacing.FAST, request_audio_seconds=1.2, half_duplex=True))
    source = (np.random.default_rng(0).standard_normal(4 * 16000) * 0.1).astype(np.float32)
    trace = await session.run(ArraySource(source, 16000))
    await judge.aclose()
    assert trace.of_type(ReplyStarted)
    sent = [audio for _, audio in judge.contexts if audio is not None]
    assert len(sent) == len(judge.contexts) == fake_vllm.count("chat")  # audio alone makes it ask each time
    assert fake_vllm.audio == [(16000, audio.size) for audio in sent]
    for heard_until, audio in judge.contexts:
        assert audio is not None
        end = round(heard_until * 16000)
        np.testing.assert_allclose(audio, source[end - audio.size : end], atol=1e-6)  # the tail heard so far
        # the last 1.2 s (whole 0.4 s chunks; the session may keep one more at a float boundary)
        assert min(end, 19200) <= audio.size <= min(end, 19200 + 6400)


async def test_check_resolves_the_model_and_a_dead_server_stops_the_session_before_audio(fake_vllm: Any) -> None:
    judge = decider(fake_vllm)
    try:
        await judge.check()
    finally:
        await judge.aclose()
    assert fake_vllm.count("models") == 1
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    down = AudioLMDecider(base_url=f"http://127.0.0.1:{port}/v1", trust_env=False)
    session = Session(ScriptedPerceiver(HEARD), down, ScriptedResponder("-"), config=SessionConfig(pacing=Pacing.FAST))
    try:
        with pytest.raises(BackendError, match="is not usable: cannot connect"):
            await session.run(ArraySource(np.zeros(16000, np.float32), 16000))
    finally:
        await down.aclose()
    assert session.statistics().chunks_received == 0


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
    with pytest.raises(ConfigurationError, match="sample_rate"):
        AudioLMDecider(sample_rate=0)
    with pytest.raises(ConfigurationError, match="threshold must be a number >= 0 and <= 1, got str 'high'"):
        AudioLMDecider(threshold="high")
    with pytest.raises(ConfigurationError, match="logprobs must be true or false"):
        AudioLMDecider(logprobs="no")
    with pytest.raises(ConfigurationError, match="task must be a non-empty string"):
        AudioLMDecider(task=3)
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\) thresh; AudioLMDecider takes .*threshold"):
        AudioLMDecider(thresh=0.4)


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
