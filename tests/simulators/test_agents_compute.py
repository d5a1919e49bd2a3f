"""The rule decider, the speaking responder and the cost wrappers, call by call."""

from __future__ import annotations

import numpy as np
import pytest

from audiointeract.audio import AudioChunk
from audiointeract.backends.mock import ScriptedDecider, ScriptedPerceiver
from audiointeract.clock import LoopClock
from audiointeract.errors import ConfigurationError
from audiointeract.events import (
    Action,
    AudioDelta,
    Decision,
    ResponseRequest,
    SoundEvent,
    SpeechActivity,
    StandingTask,
    TextDelta,
    TranscriptUpdate,
)
from audiointeract.interfaces import DecisionContext
from audiointeract.simulators import CostedDecider, CostedPerceiver, CostedResponder, CostModel
from audiointeract.simulators.agents import SpeakingResponder, TaskRuleDecider

TASKS = (StandingTask(name="answer", instruction="Answer."),
         StandingTask(name="warn", instruction="Tell me if the smoke alarm beeps.", proactive=True))


def context(heard: float, *, speaking: bool = False) -> DecisionContext:
    return DecisionContext(now=heard, heard_until=heard, agent_speaking=speaking, active_reply=0 if speaking else None,
                           tasks=TASKS, transcript="", history=(), user_speaking=False, last_speech_end=None,
                           last_reply_end=None, pending_chunks=0)


@pytest.mark.anyio
async def test_rule_decider_answers_questions_only() -> None:
    decider = TaskRuleDecider()
    statement = TranscriptUpdate(span_start=0, span_end=1.0, committed="it is late")
    assert (await decider.decide(context(1.2), [statement])).action is Action.SILENT
    question = TranscriptUpdate(span_start=1.5, span_end=2.0, committed="is it late?")
    decision = await decider.decide(context(2.0), [question])
    assert (decision.action, decision.task, decision.evidence) == (Action.RESPOND, "answer", (question,))
    assert (await decider.decide(context(2.4), [])).action is Action.SILENT  # fires once


@pytest.mark.anyio
async def test_rule_decider_warns_on_sounds_its_task_mentions_with_hold_and_refractory() -> None:
    decider = TaskRuleDecider(hold=0.5, sound_refractory=5.0)
    alarm = SoundEvent(span_start=1.0, span_end=1.9, label="Smoke alarm", score=0.9)
    crow = SoundEvent(span_start=1.0, span_end=1.9, label="Crow", score=0.9)
    assert (await decider.decide(context(2.0), [alarm, crow])).action is Action.SILENT  # hold: ready at 2.4
    decision = await decider.decide(context(2.4), [])
    assert (decision.action, decision.task) == (Action.RESPOND, "warn")
    again = SoundEvent(span_start=3.0, span_end=3.9, label="Smoke alarm", score=0.9)
    await decider.decide(context(4.0), [again])
    assert (await decider.decide(context(5.0), [])).action is Action.SILENT  # within the refractory period


@pytest.mark.anyio
async def test_rule_decider_interrupts_on_barge_in_and_expires_triggers() -> None:
    decider = TaskRuleDecider(expire=1.0)
    start = SpeechActivity(span_start=3.0, span_end=3.0, speaking=True)
    assert (await decider.decide(context(3.2, speaking=True), [start])).action is Action.INTERRUPT
    question = TranscriptUpdate(span_start=3.0, span_end=4.0, committed="why?")
    assert (await decider.decide(context(4.0, speaking=True), [question])).action is Action.SILENT
    assert (await decider.decide(context(5.2), [])).action is Action.SILENT  # expired at 5.0
    with pytest.raises(ConfigurationError):
        TaskRuleDecider(hold=-1.0)


def request(trigger: object, task: StandingTask | None) -> ResponseRequest:
    decision = Decision(action=Action.RESPOND)
    return ResponseRequest(reply_id=0, decision=decision, task=task, transcript="", trigger=trigger)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_speaking_responder_streams_words_and_audio_on_the_clock() -> None:
    clock = LoopClock()
    responder = SpeakingResponder(first_token_delay=0.5, word_seconds=0.25)
    started = clock.now()
    deltas = [d async for d in responder.respond(request(SoundEvent(span_start=0, span_end=1, label="Siren", score=1),
                                                          TASKS[1]))]
    assert clock.now() - started == pytest.approx(0.5)
    text = "".join(d.text for d in deltas if isinstance(d, TextDelta))
    assert text == "Heads up: I heard siren."
    audio = [d for d in deltas if isinstance(d, AudioDelta)]
    assert len(audio) == 5
    assert all(d.duration == pytest.approx(0.25) for d in audio)
    assert responder.reply_text(request(None, TASKS[0])) == "Here is my answer to that."


def test_cost_model() -> None:
    rng = np.random.default_rng(0)
    model = CostModel(fixed=0.1, per_audio_second=0.5, per_token=0.01)
    assert model.seconds(rng, audio=0.4, tokens=10) == pytest.approx(0.4)
    spread = CostModel(fixed=1.0, spread=0.5)
    draws = [spread.seconds(np.random.default_rng(1)) for _ in range(2)]
    assert draws[0] == draws[1] != 1.0
    assert CostModel().free
    assert not model.free
    with pytest.raises(ConfigurationError):
        CostModel(fixed=-1.0)


@pytest.mark.anyio
async def test_costed_wrappers_wait_on_the_clock() -> None:
    clock = LoopClock()
    chunk = AudioChunk(samples=np.zeros(6400, np.float32), sample_rate=16000, start_sample=0, index=0)
    perceiver = CostedPerceiver(ScriptedPerceiver([]), CostModel(per_audio_second=2.0), clock=clock)
    before = clock.now()
    assert list(await perceiver.perceive(chunk)) == []
    assert clock.now() - before == pytest.approx(0.8)
    decider = CostedDecider(ScriptedDecider([]), CostModel(fixed=0.1, per_token=0.05), clock=clock)
    before = clock.now()
    await decider.decide(context(0.4), [SpeechActivity(span_start=0, span_end=0.1, speaking=True)] * 2)
    assert clock.now() - before == pytest.approx(0.2)
    responder = CostedResponder(SpeakingResponder(first_token_delay=0.0), CostModel(fixed=0.3, per_token=0.1),
                                clock=clock)
    before = clock.now()
    deltas = [d async for d in responder.respond(request(None, TASKS[0]))]
    assert len(deltas) == 12
    assert clock.now() - before == pytest.approx(0.3 + 6 * 0.1)
