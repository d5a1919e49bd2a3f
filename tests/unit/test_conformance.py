from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from audiointeract.audio import AudioChunk
from audiointeract.backends.mock import (
    EnergyPerceiver,
    ScriptedAction,
    ScriptedDecider,
    ScriptedPerceiver,
    ScriptedResponder,
    TurnEndDecider,
)
from audiointeract.events import Action, Perception, ResponseDelta, ResponseRequest, SpeechActivity, TextDelta
from audiointeract.interfaces import Perceiver, Responder
from audiointeract.testing import ConformanceError, check_decider, check_perceiver, check_responder


@pytest.mark.anyio
async def test_mock_perceivers_conform() -> None:
    energy = await check_perceiver(EnergyPerceiver)
    assert [p.speaking for p in energy if isinstance(p, SpeechActivity)] == [True, False]
    script = [SpeechActivity(span_start=0.5, span_end=1.0, speaking=True)]
    assert await check_perceiver(lambda: ScriptedPerceiver(script)) == script


@pytest.mark.anyio
async def test_mock_deciders_conform() -> None:
    await check_decider(TurnEndDecider)
    await check_decider(lambda: ScriptedDecider([ScriptedAction(at=1.0, action=Action.RESPOND)]))


@pytest.mark.anyio
async def test_mock_responder_conforms() -> None:
    assert await check_responder(lambda: ScriptedResponder("one two three")) == "one two three"


class _Clairvoyant(Perceiver):
    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        return [SpeechActivity(span_start=chunk.start_time, span_end=chunk.end_time + 1.0, speaking=True)]


class _Silent(Responder):
    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        for _ in ():
            yield TextDelta(text="")


@pytest.mark.anyio
async def test_checks_catch_broken_backends() -> None:
    with pytest.raises(ConformanceError, match="ends after the audio heard"):
        await check_perceiver(_Clairvoyant)
    with pytest.raises(ConformanceError, match="at least one delta"):
        await check_responder(_Silent)
