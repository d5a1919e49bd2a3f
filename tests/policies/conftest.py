"""Helpers for policy tests: hand-written perception timelines run through the real Session on virtual time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from audiointeract.backends.mock import ScriptedPerceiver, ScriptedResponder
from audiointeract.config import DEFAULT_TASKS, SessionConfig
from audiointeract.events import (
    Action,
    Decision,
    Perception,
    SoundEvent,
    SpeechActivity,
    StandingTask,
    TranscriptUpdate,
)
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.session import Session
from audiointeract.sources import ArraySource
from audiointeract.trace import Trace

RATE = 16000


def speech(start: float, end: float, text: str = "") -> list[Perception]:
    """What a perfect perceiver reports for one utterance: onset, committed words at the end, offset."""
    out: list[Perception] = [SpeechActivity(span_start=start, span_end=start, speaking=True)]
    if text:
        out.append(TranscriptUpdate(span_start=start, span_end=end, committed=text))
    out.append(SpeechActivity(span_start=start, span_end=end, speaking=False))
    return out


def sound(start: float, end: float, label: str, score: float = 0.9) -> SoundEvent:
    return SoundEvent(span_start=start, span_end=end, label=label, score=score)


async def run_timeline(
    decider: Decider,
    script: Sequence[Perception],
    seconds: float,
    *,
    tasks: Sequence[StandingTask] | None = None,
    reply: str = "Okay, sure.",
    tokens_per_second: float = 20.0,
) -> Trace:
    """Run ``decider`` over ``seconds`` of (silent) audio whose perceptions are ``script``."""
    config = SessionConfig(tasks=tuple(tasks)) if tasks is not None else SessionConfig()
    session = Session(
        ScriptedPerceiver(script),
        decider,
        ScriptedResponder(reply, tokens_per_second=tokens_per_second),
        config=config,
    )
    return await session.run(ArraySource(np.zeros(round(seconds * RATE), dtype=np.float32), RATE))


def acted(trace: Trace, action: Action = Action.RESPOND) -> list[Decision]:
    """The decisions of one action in the trace."""
    return [d for d in trace.of_type(Decision) if d.action is action]


def times(trace: Trace, action: Action = Action.RESPOND) -> list[float]:
    """``heard_until`` of each decision of ``action`` (the chunk end it was taken at)."""
    return [round(d.heard_until or 0.0, 3) for d in acted(trace, action)]


def context(
    heard_until: float,
    *,
    agent_speaking: bool = False,
    active_reply: int | None = None,
    tasks: Sequence[StandingTask] = DEFAULT_TASKS,
    user_speaking: bool = False,
) -> DecisionContext:
    """A decision context for calling ``decide`` directly."""
    return DecisionContext(
        now=heard_until,
        heard_until=heard_until,
        agent_speaking=agent_speaking,
        active_reply=active_reply,
        tasks=tuple(tasks),
        transcript="",
        history=(),
        user_speaking=user_speaking,
        last_speech_end=None,
        last_reply_end=None,
        pending_chunks=0,
    )


class Timeline:
    """The helpers above, handed to tests through the ``tl`` fixture (conftest modules are not importable)."""

    speech = staticmethod(speech)
    sound = staticmethod(sound)
    run = staticmethod(run_timeline)
    acted = staticmethod(acted)
    times = staticmethod(times)
    context = staticmethod(context)


@pytest.fixture
def tl() -> type[Timeline]:
    return Timeline
