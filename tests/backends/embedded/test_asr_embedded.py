"""The embedded default perceiver: composition of sub-perceivers, and the real default stack."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import numpy as np
import pytest

from audiointeract.audio import AudioChunk, AudioFormat, resample
from audiointeract.backends.embedded.perceiver import EmbeddedPerceiver
from audiointeract.backends.embedded.smart_turn import SmartTurnPerceiver
from audiointeract.backends.mock import EnergyPerceiver, ScriptedDecider, ScriptedPerceiver, ScriptedResponder
from audiointeract.clock import LoopClock
from audiointeract.config import SessionConfig
from audiointeract.errors import BackendError, ConfigurationError
from audiointeract.events import (
    BackendErrorEvent,
    Perception,
    SoundEvent,
    SpeechActivity,
    TranscriptUpdate,
    TurnEndEstimate,
)
from audiointeract.interfaces import Perceiver
from audiointeract.registry import load_backend
from audiointeract.session import Session
from audiointeract.simulators.clips import default_bank
from audiointeract.sources import ArraySource
from audiointeract.testing import check_perceiver


class Slow(Perceiver):
    """Waits on the clock before answering, to show the parts run concurrently."""

    def __init__(self, delay: float, label: str) -> None:
        self.delay, self.label, self.closed, self.resets = delay, label, 0, 0

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        await LoopClock().sleep(self.delay)
        return [SoundEvent(span_start=chunk.start_time, span_end=chunk.end_time, label=self.label, score=0.9)]

    async def finish(self) -> Sequence[Perception]:
        return [SoundEvent(span_start=0.0, span_end=0.0, label=f"{self.label}-done", score=0.5)]

    async def reset(self) -> None:
        self.resets += 1

    async def aclose(self) -> None:
        self.closed += 1


class Broken(Perceiver):
    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        raise BackendError("sub-perceiver failed", retryable=True)


def chunk() -> AudioChunk:
    return AudioChunk(samples=np.zeros(6400, np.float32), sample_rate=16000, start_sample=0, index=0)


@pytest.mark.anyio
async def test_results_come_in_list_order_and_parts_run_concurrently() -> None:
    parts = [Slow(0.3, "a"), Slow(0.1, "b")]
    both = EmbeddedPerceiver(parts)
    clock = LoopClock()
    started = clock.now()
    out = await both.perceive(chunk())
    assert clock.now() - started == pytest.approx(0.3)  # not 0.4: concurrent
    assert [p.label for p in out if isinstance(p, SoundEvent)] == ["a", "b"]
    assert [p.label for p in await both.finish() if isinstance(p, SoundEvent)] == ["a-done", "b-done"]
    await both.reset()
    await both.aclose()
    assert [p.resets for p in parts] == [1, 1]
    assert [p.closed for p in parts] == [1, 1]
    inline = EmbeddedPerceiver([Slow(0.3, "a"), Slow(0.1, "b")], offload=False)
    started = clock.now()
    await inline.perceive(chunk())
    assert clock.now() - started == pytest.approx(0.4)


@pytest.mark.anyio
async def test_a_failing_part_fails_the_chunk_with_its_own_error() -> None:
    with pytest.raises(BackendError, match="sub-perceiver failed") as info:
        await EmbeddedPerceiver([Slow(0.1, "a"), Broken()]).perceive(chunk())
    assert info.value.retryable
    with pytest.raises(ConfigurationError):
        EmbeddedPerceiver([])


@pytest.mark.anyio
async def test_composition_conforms() -> None:
    script = [SpeechActivity(span_start=0.5, span_end=1.0, speaking=True)]
    await check_perceiver(lambda: EmbeddedPerceiver([ScriptedPerceiver(script), EnergyPerceiver()]))


BANK = default_bank()


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.skipif(not (BANK.available("asterisk") and BANK.available("sonic-pi")),
                    reason="needs asterisk-core-sounds-en-wav and sonic-pi-samples")
async def test_default_stack_hears_speech_and_a_crow() -> None:
    perceiver = load_backend("perceiver", "default", offload=False)
    assert isinstance(perceiver, EmbeddedPerceiver)
    assert [type(p).__name__ for p in perceiver.perceivers] == [
        "FasterWhisperPerceiver", "SmartTurnPerceiver", "YamnetPerceiver"]
    speech, rate = BANK.load("asterisk:conf-getpin")
    crow, crow_rate = BANK.load("sonic-pi:misc_crow")
    audio = np.concatenate([np.zeros(8000, np.float32), resample(speech, rate, 16000), np.zeros(16000, np.float32),
                            resample(crow, crow_rate, 16000), np.zeros(16000, np.float32)])
    config = SessionConfig(audio=AudioFormat(chunk_seconds=0.4))
    trace = await Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config).run(ArraySource(audio, 16000))
    assert not trace.of_type(BackendErrorEvent)
    text = " ".join(u.committed for u in trace.of_type(TranscriptUpdate) if u.committed)
    assert "conference" in text.lower()
    activity = trace.of_type(SpeechActivity)
    assert [a.speaking for a in activity] == [True, False]
    (estimate,) = trace.of_type(TurnEndEstimate)  # with the end of speech, from its own VAD with the same settings
    assert estimate.speech_end == pytest.approx(activity[1].span_end)
    assert estimate.emitted_at == activity[1].emitted_at
    assert estimate.span_start == pytest.approx(activity[0].span_start - 0.5)  # the turn, from 0.5 s before it
    assert trace.of_type(SoundEvent)  # the sound-event half runs alongside the transcript


@pytest.mark.slow
def test_the_end_of_turn_part_can_be_left_out_or_configured() -> None:
    quiet = EmbeddedPerceiver(offload=False, turn_end=False)
    assert [type(p).__name__ for p in quiet.perceivers] == ["FasterWhisperPerceiver", "YamnetPerceiver"]
    tuned = EmbeddedPerceiver(offload=False, asr={"min_silence": 0.5}, turn_end={"threads": 1})
    smart_turn = tuned.perceivers[1]
    assert isinstance(smart_turn, SmartTurnPerceiver)
    assert smart_turn._vad.silence_frames == 16  # takes the ASR's VAD setting


def test_concurrency_runs_on_anyio_backends() -> None:
    # plain asyncio (real time) too: the composition only uses anyio primitives
    out = anyio.run(EmbeddedPerceiver([Slow(0.0, "a")]).perceive, chunk())
    assert len(out) == 1
