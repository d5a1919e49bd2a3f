"""A real Session replying through ChatResponder to the fake vLLM server that dies mid-stream."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from audiointeract.backends.mock import ScriptedAction, ScriptedDecider, ScriptedPerceiver
from audiointeract.backends.openai_compat import ChatResponder
from audiointeract.config import FailurePolicy, Pacing, SessionConfig
from audiointeract.events import (
    Action,
    BackendErrorEvent,
    Decision,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    TranscriptUpdate,
)
from audiointeract.session import Session
from audiointeract.sources import ArraySource

pytestmark = pytest.mark.anyio


def session(fake: Any, responds_at: tuple[float, ...], pacing: Pacing) -> Session:
    perceiver = ScriptedPerceiver(
        [TranscriptUpdate(span_start=0.0, span_end=at, committed=f"question {i}") for i, at in enumerate(responds_at)]
    )
    decider = ScriptedDecider([ScriptedAction(at=at, action=Action.RESPOND, task="answer") for at in responds_at])
    chat = ChatResponder(base_url=fake.base_url, trust_env=False, max_tokens=8)
    return Session(perceiver, decider, chat, config=SessionConfig(pacing=pacing))


async def test_fake_vllm_dies_mid_stream_reply_fails_and_session_keeps_listening(fake_vllm: Any) -> None:
    fake_vllm.drop_after = 2
    run = session(fake_vllm, (0.4, 1.6), Pacing.REALTIME)
    trace = await run.run(ArraySource(np.zeros(int(2.4 * 16000), dtype=np.float32), 16000))
    events = [record.event for record in trace]
    errors = [e for e in events if isinstance(e, BackendErrorEvent)]
    assert len(errors) == 1
    assert errors[0].component == "responder"
    assert errors[0].error_type == "BackendError"
    assert errors[0].retryable
    assert errors[0].handling == "skip"  # text was already out: not retried
    failed = [e for e in events if isinstance(e, ReplyFailed)]
    assert [e.reply_id for e in failed] == [0]
    assert "broke" in failed[0].message
    # the session kept listening: a later decision started a reply that finished
    later = [e for e in events if isinstance(e, Decision) and e.action is Action.RESPOND]
    assert len(later) == 2
    finished = [e for e in events if isinstance(e, ReplyFinished)]
    assert [e.reply_id for e in finished] == [1]
    assert finished[0].text == "".join(fake_vllm.tokens)
    texts = [e.text for e in events if isinstance(e, ReplyText) and e.reply_id == 0]
    assert texts == fake_vllm.tokens[:2]
    assert run.statistics().replies_failed == 1


async def test_fake_vllm_dies_before_first_token_session_retries(fake_vllm: Any) -> None:
    fake_vllm.drop_after = 0
    run = session(fake_vllm, (0.4,), Pacing.FAST)
    trace = await run.run(ArraySource(np.zeros(16000, dtype=np.float32), 16000))
    events = [record.event for record in trace]
    errors = [e for e in events if isinstance(e, BackendErrorEvent)]
    assert [(e.component, e.handling) for e in errors] == [("responder", "retry")]
    finished = [e for e in events if isinstance(e, ReplyFinished)]
    assert len(finished) == 1
    assert finished[0].text == "".join(fake_vllm.tokens)
    assert fake_vllm.count("chat") == 2


async def test_a_hanging_server_fails_the_reply_within_the_deadline_and_the_next_turn_is_answered(
    hanging_vllm: Any,
) -> None:
    hanging_vllm.hang_requests = 2  # the first reply and its retry are accepted and never answered
    policy = FailurePolicy(max_retries=1, backoff=0.05, first_output_timeout=1.0, deadline=2.5)
    perceiver = ScriptedPerceiver([TranscriptUpdate(span_start=0.0, span_end=at, committed="question")
                                   for at in (0.4, 4.0)])
    decider = ScriptedDecider([ScriptedAction(at=at, action=Action.RESPOND, task="answer") for at in (0.4, 4.0)])
    chat = ChatResponder(base_url=hanging_vllm.base_url, trust_env=False, max_tokens=8)  # read_timeout stays 60 s
    config = SessionConfig(pacing=Pacing.REALTIME, responder_failure=policy)
    trace = await Session(perceiver, decider, chat, config=config).run(
        ArraySource(np.zeros(6 * 16000, dtype=np.float32), 16000)
    )
    errors = trace.of_type(BackendErrorEvent)
    assert [(e.error_type, e.handling) for e in errors] == [("BackendTimeout", "retry"), ("BackendTimeout", "skip")]
    assert "no output within 1s" in errors[0].message
    (started, _) = trace.of_type(ReplyStarted)
    (failed,) = trace.of_type(ReplyFailed)
    assert failed.reply_id == started.reply_id == 0
    assert failed.at - started.at <= policy.deadline + 0.5  # bounded by the session's deadline, not the 60 s read timeout
    (finished,) = trace.of_type(ReplyFinished)
    assert finished.reply_id == 1
    assert finished.text == "".join(hanging_vllm.tokens)
    assert hanging_vllm.hung == 2
