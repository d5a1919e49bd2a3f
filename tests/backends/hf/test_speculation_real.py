"""Replies written ahead with the real embedded responder (SmolLM2 + piper), in real time.

A reply prepared while the user pauses and then dropped (the user went on) is never heard,
is traced as discarded, and its model and voice threads are gone when the trace says so;
the reply prepared for the whole question and confirmed is heard only from its RESPOND.
Prefix caching does not change what the model says.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from leaks import worker_threads

from audiointeract.backends.hf.default import default_responder
from audiointeract.backends.hf.responder import TransformersResponder
from audiointeract.backends.mock import ScriptedPerceiver
from audiointeract.backends.prompting import ChatPrompt
from audiointeract.backends.speech import SpeechResponder
from audiointeract.config import Pacing, SessionConfig
from audiointeract.events import (
    Action,
    Decision,
    Perception,
    ReplyAudio,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    ResponseRequest,
    SpeculationEnded,
    SpeculationStarted,
    TextDelta,
    TranscriptUpdate,
    Turn,
)
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.session import Session
from audiointeract.sources import ArraySource

pytestmark = pytest.mark.slow


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # real time: the model's threads compute while the clock runs


@pytest.fixture(scope="module")
def spoken() -> SpeechResponder:
    responder = default_responder(voice="piper")
    assert isinstance(responder, SpeechResponder)
    return responder


class Preparing(Decider):
    """Prepares the reply to everything said so far at some decision points, responds at others."""

    def __init__(self, prepare_at: set[float], respond_at: set[float]) -> None:
        self.prepare_at = prepare_at
        self.respond_at = respond_at
        self.evidence: list[Perception] = []

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        self.evidence += [p for p in perceptions if isinstance(p, TranscriptUpdate)]
        at = round(context.heard_until, 1)
        if at in self.respond_at:
            return Decision(action=Action.RESPOND, task="answer", evidence=self.evidence)
        if at in self.prepare_at:
            return Decision.preparing("answer", self.evidence, reason="turn looks complete")
        return Decision.silent()


def said(text: str, end: float) -> TranscriptUpdate:
    return TranscriptUpdate(span_start=end - 1.0, span_end=end, committed=text)


@pytest.mark.anyio
async def test_a_discarded_reply_is_never_heard_and_the_confirmed_one_plays_from_its_respond(
    spoken: SpeechResponder,
) -> None:
    perceiver = ScriptedPerceiver([said("How many legs", 1.8), said("does a spider have?", 3.4)])
    decider = Preparing(prepare_at={2.0, 3.6, 4.0}, respond_at={4.4})  # the user goes on at 2.4
    session = Session(perceiver, decider, spoken, config=SessionConfig(pacing=Pacing.REALTIME))
    trace = await session.run(ArraySource(np.zeros(16000 * 6, dtype=np.float32), 16000))

    assert [s.utterance for s in trace.of_type(SpeculationStarted)] == [
        "How many legs", "How many legs does a spider have?"
    ]
    dropped, used = trace.of_type(SpeculationEnded)
    assert not dropped.used
    assert dropped.reason.startswith("the decider no longer prepares it")
    assert used.used
    (reply,) = trace.of_type(ReplyStarted)
    assert used.at == pytest.approx(reply.at, abs=0.01)
    outputs = [r for r in trace if isinstance(r.event, ReplyText | ReplyAudio)]
    assert outputs
    assert all(r.at >= reply.at for r in outputs)  # nothing written ahead was heard before its RESPOND
    assert all(a.play_at >= reply.at for a in trace.of_type(ReplyAudio))
    assert {r.event.reply_id for r in outputs} == {reply.reply_id}
    (finished,) = trace.of_type(ReplyFinished)
    assert "spider" in finished.text.lower()
    assert "8" in finished.text or "eight" in finished.text.lower()
    stats = session.statistics()
    assert (stats.speculations_started, stats.speculations_used, stats.speculations_discarded) == (2, 1, 1)
    assert worker_threads() == []


@pytest.mark.anyio
async def test_the_prefix_cache_does_not_change_what_the_model_says(spoken: SpeechResponder) -> None:
    cached = spoken.inner
    assert isinstance(cached, TransformersResponder)
    plain = TransformersResponder(cached.path, prompt=ChatPrompt(history_turns=0), prefix_cache=False, threads=1)
    for question in ("What is the capital of Japan?", "How many sides does a hexagon have?"):
        request = ResponseRequest(reply_id=0, decision=Decision(action=Action.RESPOND), task=None,
                                  transcript=question, utterance=question, history=(Turn(role="user", text=question),))
        with_cache = "".join([d.text async for d in cached.respond(request) if isinstance(d, TextDelta)])
        assert cached.last_statistics is not None
        assert cached.last_statistics.cached_tokens > 0
        without = "".join([d.text async for d in plain.respond(request) if isinstance(d, TextDelta)])
        assert with_cache == without
        assert with_cache
