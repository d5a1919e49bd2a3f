"""TranscriptionPerceiver against the fake vLLM server: vLLM/OpenAI streaming forms, JSON, segmenting."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from audiointeract.audio import AudioChunk, AudioFormat, Rechunker
from audiointeract.backends.mock import EnergyPerceiver
from audiointeract.backends.openai_compat import TranscriptionPerceiver
from audiointeract.events import Perception, SpeechActivity, TranscriptUpdate

pytestmark = pytest.mark.anyio

RATE = 16000


def audio(*parts: tuple[str, float]) -> np.ndarray:
    """Concatenate ("silence"|"noise", seconds) parts; noise is about -20 dBFS."""
    rng = np.random.default_rng(7)
    pieces = [
        (rng.standard_normal(int(seconds * RATE)) * 0.1 if kind == "noise" else np.zeros(int(seconds * RATE)))
        for kind, seconds in parts
    ]
    return np.concatenate(pieces).astype(np.float32)


def chunks(samples: np.ndarray) -> list[AudioChunk]:
    rechunker = Rechunker(AudioFormat())
    return [*rechunker.push(samples), *rechunker.flush()]


async def run(perceiver: TranscriptionPerceiver, samples: np.ndarray) -> list[Perception]:
    out: list[Perception] = []
    try:
        for chunk in chunks(samples):
            found = await perceiver.perceive(chunk)
            assert all(p.span_end <= chunk.end_time + 1e-9 for p in found)
            out += found
        out += await perceiver.finish()
    finally:
        await perceiver.aclose()
    return out


def transcripts(perceptions: list[Perception]) -> list[TranscriptUpdate]:
    return [p for p in perceptions if isinstance(p, TranscriptUpdate)]


def perceiver(fake: Any, **options: Any) -> TranscriptionPerceiver:
    return TranscriptionPerceiver(base_url=fake.base_url, trust_env=False, **options)


async def test_fake_vllm_transcription_json_windows(fake_vllm: Any) -> None:
    found = await run(perceiver(fake_vllm, window=1.0), audio(("noise", 2.4)))
    updates = transcripts(found)
    assert [(u.span_start, u.span_end) for u in updates] == [(0.0, 1.2), (1.2, 2.4)]
    assert all(u.committed == fake_vllm.transcript for u in updates)
    assert fake_vllm.audio == [(RATE, 19200), (RATE, 19200)]
    form = fake_vllm.bodies("transcriptions")[0]
    assert form == {"model": "fake-audio-llm", "response_format": "json"}


async def test_fake_vllm_transcription_skips_silent_windows(fake_vllm: Any) -> None:
    found = await run(perceiver(fake_vllm, window=1.0), audio(("silence", 1.2), ("noise", 1.2)))
    assert [(u.span_start, u.span_end) for u in transcripts(found)] == [(1.2, 2.4)]
    assert fake_vllm.count("transcriptions") == 1


@pytest.mark.parametrize("form", ["vllm", "openai"])
async def test_fake_vllm_transcription_stream(fake_vllm: Any, form: str) -> None:
    fake_vllm.transcription_form = form
    found = await run(perceiver(fake_vllm, window=2.0, stream=True, language="en"), audio(("noise", 2.0)))
    assert [u.committed for u in transcripts(found)] == [fake_vllm.transcript]
    fields = fake_vllm.bodies("transcriptions")[0]
    assert fields["stream"] == "true"
    assert fields["language"] == "en"


async def test_fake_vllm_transcription_vad_segments(fake_vllm: Any) -> None:
    samples = audio(("silence", 0.8), ("noise", 1.2), ("silence", 1.2))
    found = await run(perceiver(fake_vllm, vad=EnergyPerceiver(), preroll=0.2), samples)
    activity = [p for p in found if isinstance(p, SpeechActivity)]
    assert [p.speaking for p in activity] == [True, False]  # the VAD's perceptions pass through
    (update,) = transcripts(found)
    assert update.span_start == pytest.approx(activity[0].span_start - 0.2)
    assert update.span_end == pytest.approx(activity[1].span_end)
    ((rate, frames),) = fake_vllm.audio
    assert rate == RATE
    assert frames == pytest.approx((update.span_end - update.span_start) * RATE, abs=2)


async def test_fake_vllm_transcription_finish_flushes_open_segment(fake_vllm: Any) -> None:
    found = await run(perceiver(fake_vllm, vad=EnergyPerceiver()), audio(("silence", 0.8), ("noise", 1.2)))
    (update,) = transcripts(found)
    assert update.span_end == pytest.approx(2.0)
    assert fake_vllm.count("transcriptions") == 1


async def test_fake_vllm_transcription_cuts_long_segments(fake_vllm: Any) -> None:
    found = await run(perceiver(fake_vllm, vad=EnergyPerceiver(), max_segment=1.0), audio(("noise", 2.8)))
    spans = [(u.span_start, u.span_end) for u in transcripts(found)]
    assert len(spans) == 3
    assert all(b[0] == pytest.approx(a[1]) for a, b in itertools.pairwise(spans))
