"""What sessions share: one responder, the perceivers' weights; everything with per-stream state is their own."""

from __future__ import annotations

import anyio
import pytest

from audiointeract.backends.mock import EnergyPerceiver, TurnEndDecider
from audiointeract.backends.openai_compat import ChatResponder
from audiointeract.backends.prompting import ChatPrompt
from audiointeract.errors import ConfigurationError
from audiointeract.realtime.backends import BackendPool
from audiointeract.realtime.controls import InstructionsPrompt


def test_each_session_gets_its_own_perceiver_and_decider_and_shares_the_responder() -> None:
    pool = BackendPool.from_registry(perceiver="energy", decider="turn-end", responder="mock")
    first, second = pool.build(), pool.build()
    assert isinstance(first.perceiver, EnergyPerceiver)
    assert isinstance(first.decider, TurnEndDecider)
    assert first.perceiver is not second.perceiver
    assert first.decider is not second.decider
    assert first.responder is second.responder is pool.responder
    assert pool.shared == ("responder mock",)


def test_prompted_responders_follow_the_clients_instructions() -> None:
    pool = BackendPool.from_registry(perceiver="energy", decider="turn-end", responder="vllm",
                                     options={"responder": {"base_url": "http://127.0.0.1:9/v1"}})
    assert isinstance(pool.responder, ChatResponder)
    assert pool.responder.prompt == InstructionsPrompt(ChatPrompt())


def test_bad_names_and_options_fail_the_check() -> None:
    pool = BackendPool.from_registry(perceiver="energy", decider="nope", responder="mock")
    with pytest.raises(ConfigurationError, match="unknown decider 'nope'"):
        anyio.run(pool.check)


@pytest.mark.slow
def test_sessions_share_the_embedded_perception_weights() -> None:
    pool = BackendPool.from_registry(perceiver="default", decider="default", responder="mock")
    first, second = pool.build(), pool.build()
    whisper, smart_turn, yamnet = first.perceiver.perceivers  # type: ignore[attr-defined]
    other_whisper, other_smart_turn, other_yamnet = second.perceiver.perceivers  # type: ignore[attr-defined]
    assert whisper is not other_whisper
    assert smart_turn is not other_smart_turn  # its own VAD state and its own small model, per session
    assert whisper.model is other_whisper.model
    assert yamnet.model is other_yamnet.model
    assert pool.shared == ("faster-whisper", "yamnet", "responder mock")
