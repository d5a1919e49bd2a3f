"""The OpenAI-compatible backends against a REAL server: ``transformers serve`` running SmolLM2 on CPU.

The server is not ours, so these check that our wire format is the real one. The
model is tiny and the machine slow: replies are a few tokens and only shapes are
asserted, never content.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

from audiointeract.backends.mock import ScriptedAction, ScriptedDecider, ScriptedPerceiver
from audiointeract.backends.openai_compat import AudioLMDecider, ChatResponder
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import BackendError, ConfigurationError
from audiointeract.events import (
    Action,
    Decision,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    ResponseRequest,
    StandingTask,
    TranscriptUpdate,
    Turn,
)
from audiointeract.interfaces import DecisionContext
from audiointeract.session import Session
from audiointeract.sources import ArraySource

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

QUESTION = "What is the capital of France?"


def request() -> ResponseRequest:
    return ResponseRequest(
        reply_id=0,
        decision=Decision(action=Action.RESPOND, task="answer"),
        task=StandingTask(name="answer", instruction="Answer questions."),
        transcript=QUESTION,
        history=(Turn(role="user", text=QUESTION),),
        audio=np.zeros(1600, dtype=np.float32),  # a text-only model: the server drops audio parts
    )


def responder(server: Any, **options: Any) -> ChatResponder:
    return ChatResponder(**{"base_url": server.base_url, "trust_env": False, "max_tokens": 2, "temperature": 0.0, **options})


async def test_real_server_check_resolves_the_served_model(smollm2_server: Any) -> None:
    chat = responder(smollm2_server)
    try:
        await chat.check()
        assert await chat.client.model_name() == smollm2_server.model
    finally:
        await chat.aclose()


async def test_real_server_leaving_mid_stream_closes_the_connection(smollm2_server: Any) -> None:
    chat = responder(smollm2_server, max_tokens=64)
    try:
        async with contextlib.aclosing(chat.respond(request())) as stream:
            async for _ in stream:
                break
        pool = chat.client.http._transport._pool
        assert not [c for c in pool.connections if not c.is_idle()]
        # the server stopped that generation and serves the next request
        chat.max_tokens = 1
        async with contextlib.aclosing(chat.respond(request())) as again:
            assert [d async for d in again]
    finally:
        await chat.aclose()


async def test_real_server_client_error_is_not_retryable(smollm2_server: Any) -> None:
    chat = responder(smollm2_server, model="not-the-served-model")
    try:
        with pytest.raises(ConfigurationError, match=r"model 'not-the-served-model' is not served at .*; it serves"):
            await chat.check()  # the listing names what is served
        with pytest.raises(BackendError) as caught:
            await chat.respond(request()).__anext__()
    finally:
        await chat.aclose()
    assert not caught.value.retryable
    assert "HTTP 400" in str(caught.value)
    assert "pinned" in str(caught.value)  # the server's own message


async def test_real_server_decider_answers(smollm2_server: Any) -> None:
    judge = AudioLMDecider(base_url=smollm2_server.base_url, trust_env=False)  # logprobs asked for, ignored here
    ctx = DecisionContext(
        now=2.0, heard_until=2.0, agent_speaking=False, active_reply=None,
        tasks=(StandingTask(name="answer", instruction="Answer questions put to you."),),
        transcript=QUESTION, history=(), user_speaking=False, last_speech_end=1.6,
        last_reply_end=None, pending_chunks=0,
    )
    try:
        decision = await judge.decide(ctx, [TranscriptUpdate(span_start=0.0, span_end=1.6, committed=QUESTION)])
    finally:
        await judge.aclose()
    assert decision.action in (Action.RESPOND, Action.SILENT)
    assert "from text" in decision.reason or "unreadable" in decision.reason


async def test_real_server_session_reply(smollm2_server: Any) -> None:
    perceiver = ScriptedPerceiver([TranscriptUpdate(span_start=0.0, span_end=0.8, committed=QUESTION)])
    decider = ScriptedDecider([ScriptedAction(at=0.8, action=Action.RESPOND, task="answer")])
    chat = responder(smollm2_server)
    session = Session(perceiver, decider, chat, config=SessionConfig(pacing=Pacing.FAST))
    try:
        trace = await session.run(ArraySource(np.zeros(16000, dtype=np.float32), 16000))
    finally:
        await chat.aclose()
    assert len(trace.of_type(ReplyStarted)) == 1
    (finished,) = trace.of_type(ReplyFinished)
    texts = trace.of_type(ReplyText)
    assert 1 <= len(texts) <= 2  # one text event per streamed delta, at most max_tokens
    assert all(t.text for t in texts)
    assert finished.text == "".join(t.text for t in texts)
    assert finished.first_output_at is not None
