"""The OpenAI-compatible backends pass the SDK's conformance checks (fake vLLM server)."""

from __future__ import annotations

from typing import Any

import pytest

from audiointeract.backends.mock import EnergyPerceiver
from audiointeract.backends.openai_compat import AudioLMDecider, ChatResponder, TranscriptionPerceiver
from audiointeract.events import TranscriptUpdate
from audiointeract.testing import check_decider, check_perceiver, check_responder, sample_request

pytestmark = pytest.mark.anyio


async def test_fake_vllm_chat_responder_conforms(fake_vllm: Any) -> None:
    fake_vllm.token_delay = 0.01
    text = await check_responder(lambda: ChatResponder(base_url=fake_vllm.base_url, trust_env=False))
    assert text == "".join(fake_vllm.tokens)
    await check_responder(
        lambda: ChatResponder(base_url=fake_vllm.base_url, trust_env=False), request=sample_request(with_audio=True)
    )
    assert fake_vllm.audio


@pytest.mark.parametrize("vad", [False, True])
async def test_fake_vllm_transcription_perceiver_conforms(fake_vllm: Any, vad: bool) -> None:
    def build() -> TranscriptionPerceiver:
        return TranscriptionPerceiver(
            base_url=fake_vllm.base_url, trust_env=False, window=1.0, vad=EnergyPerceiver() if vad else None
        )

    perceived = await check_perceiver(build)
    assert any(isinstance(p, TranscriptUpdate) for p in perceived)


async def test_fake_vllm_audio_lm_decider_conforms(fake_vllm: Any) -> None:
    fake_vllm.logprobs = {"respond": -0.1, "silent": -2.0}
    await check_decider(lambda: AudioLMDecider(base_url=fake_vllm.base_url, trust_env=False))
    assert fake_vllm.count("chat") >= 1
