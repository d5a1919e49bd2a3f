"""TranscriptionPerceiver against the fake vLLM server: streaming forms, JSON, segmenting, a failing server."""

from __future__ import annotations

import itertools
import re
from typing import Any

import anyio
import numpy as np
import pytest

from audiointeract.audio import AudioChunk, AudioFormat, Rechunker
from audiointeract.backends.mock import EnergyPerceiver, ScriptedDecider, ScriptedResponder
from audiointeract.backends.openai_compat import TranscriptionPerceiver
from audiointeract.backends.openai_compat.transcription import TranscriptionStatistics
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import BackendError, ConfigurationError
from audiointeract.events import BackendErrorEvent, Perception, SpeechActivity, TranscriptUpdate
from audiointeract.session import Session
from audiointeract.sources import ArraySource

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


# --------------------------------------------------------------------------- a failing server


async def drive(
    perceiver: TranscriptionPerceiver, samples: np.ndarray, most_waiting: float
) -> tuple[list[Perception], list[BackendError]]:
    """Feed every chunk once, as a session that skips failed calls does; note errors; check the waiting audio."""
    out: list[Perception] = []
    errors: list[BackendError] = []
    try:
        for chunk in [*chunks(samples), None]:
            try:
                out += await perceiver.perceive(chunk) if chunk is not None else await perceiver.finish()
            except BackendError as exc:
                errors.append(exc)
            assert perceiver.statistics().seconds_waiting <= most_waiting + 1e-6
    finally:
        await perceiver.aclose()
    return out, errors


async def test_fake_vllm_transcription_server_failing_then_recovering(fake_vllm: Any) -> None:
    fake_vllm.transcription_failures = [503] * 5
    asr = perceiver(fake_vllm, window=1.0, max_segment=2.0)
    found, errors = await drive(asr, audio(("noise", 8.0)), most_waiting=1.2)  # one window
    # each window is tried twice at most, then dropped: the requests never grow
    assert fake_vllm.audio == [(RATE, 19200)] * 9 + [(RATE, 12800)]
    assert [(e.retryable, "kept for one more try" in str(e)) for e in errors] == [
        (True, True), (False, False), (True, True), (False, False), (True, True)
    ]
    assert "dropped 1.20 s of audio in 1 segment(s) between 0.00 and 1.20 s untranscribed because it failed twice" in str(
        errors[1]
    )
    assert "answered HTTP 503: scripted failure 503" in str(errors[0])
    assert all("\n" not in str(e) for e in errors)
    # later speech is transcribed, with its own spans
    spans = [(u.span_start, u.span_end) for u in transcripts(found)]
    assert spans == [(2.4, 3.6), (3.6, 4.8), (4.8, 6.0), (6.0, 7.2), (7.2, 8.0)]
    assert asr.statistics() == TranscriptionStatistics(
        segments_transcribed=5, requests_failed=5, segments_dropped=2, seconds_dropped=pytest.approx(2.4)
    )


async def test_fake_vllm_transcription_backlog_stays_within_max_segment(fake_vllm: Any) -> None:
    """Windows cut faster than a failing server clears them: the oldest waiting audio is dropped."""
    fake_vllm.transcription_failures = [503] * 12
    asr = perceiver(fake_vllm, window=0.4, max_segment=1.0)
    found, errors = await drive(asr, audio(("noise", 6.0)), most_waiting=1.0)
    assert {frames for _, frames in fake_vllm.audio} == {6400}
    assert any("because more than max_segment=1 s of audio waited for the server" in str(e) for e in errors)
    stats = asr.statistics()
    assert stats.requests_failed == 12
    assert stats.segments_dropped + stats.segments_transcribed == 15  # every window: transcribed or dropped
    assert stats.seconds_dropped == pytest.approx(0.4 * stats.segments_dropped)
    assert stats.seconds_waiting == 0.0
    spans = [(u.span_start, u.span_end) for u in transcripts(found)]
    assert len(spans) == stats.segments_transcribed
    assert spans[-1] == pytest.approx((5.6, 6.0))


async def test_fake_vllm_transcription_retried_chunk_is_not_buffered_twice(fake_vllm: Any) -> None:
    fake_vllm.transcription_failures = [503]
    asr = perceiver(fake_vllm, window=1.0)
    found: list[Perception] = []
    errors: list[BackendError] = []
    try:
        for chunk in chunks(audio(("noise", 2.4))):
            try:
                found += await asr.perceive(chunk)
            except BackendError as exc:
                errors.append(exc)
                found += await asr.perceive(chunk)  # the session's retry of the same call
        found += await asr.finish()
    finally:
        await asr.aclose()
    assert [e.retryable for e in errors] == [True]
    assert [(u.span_start, u.span_end) for u in transcripts(found)] == [(0.0, 1.2), (1.2, 2.4)]
    assert fake_vllm.audio == [(RATE, 19200)] * 3  # the failed try, its retry, the next window
    assert asr.statistics().segments_dropped == 0


async def test_fake_vllm_transcription_vad_perceptions_survive_a_failed_call(fake_vllm: Any) -> None:
    fake_vllm.transcription_failures = [400]
    asr = perceiver(fake_vllm, vad=EnergyPerceiver(), preroll=0.2)
    found, errors = await drive(asr, audio(("silence", 0.8), ("noise", 1.2), ("silence", 1.2)), most_waiting=2.0)
    assert [p.speaking for p in found if isinstance(p, SpeechActivity)] == [True, False]  # none lost
    assert transcripts(found) == []
    (error,) = errors
    assert not error.retryable
    shape = (r"could not transcribe (?P<start>\S+)-(?P<end>\S+) s: .* answered HTTP 400: scripted failure 400; "
             r"dropped \S+ s of audio in 1 segment\(s\) between (?P=start) and (?P=end) s untranscribed "
             r"because the error is not retryable")
    found_shape = re.fullmatch(shape, str(error))
    assert found_shape is not None, str(error)
    assert float(found_shape["start"]) == pytest.approx(0.6)  # speech start minus the preroll
    assert asr.statistics().segments_dropped == 1


async def test_vad_by_registry_name() -> None:
    asr = TranscriptionPerceiver(vad="energy")
    try:
        assert isinstance(asr._vad, EnergyPerceiver)
    finally:
        await asr.aclose()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"window": "5"}, "window must be a number > 0, got str '5'"),
        ({"max_segment": 0}, "max_segment must be a number > 0"),
        ({"preroll": -1}, "preroll must be a number >= 0"),
        ({"silence_db": "loud"}, "silence_db must be a number"),
        ({"stream": 1}, "stream must be true or false"),
        ({"language": 3}, "language must be a non-empty string"),
        ({"vad": 3}, "vad must be a Perceiver or a perceiver name"),
        ({"vad": "nope"}, "unknown perceiver 'nope'"),
        ({"bogus": 1}, "unknown option.s. bogus; TranscriptionPerceiver takes language, max_segment"),
    ],
)
def test_transcription_bad_options(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        TranscriptionPerceiver(**options)


async def test_fake_vllm_session_keeps_transcribing_after_the_server_recovers(fake_vllm: Any) -> None:
    fake_vllm.transcription_failures = [503] * 3
    asr = perceiver(fake_vllm, window=1.0)
    session = Session(asr, ScriptedDecider([]), ScriptedResponder("-"), config=SessionConfig(pacing=Pacing.FAST))
    try:
        trace = await session.run(ArraySource(audio(("noise", 4.8)), RATE))
    finally:
        await asr.aclose()
    failures = [e for e in trace.of_type(BackendErrorEvent) if e.component == "perceiver"]
    assert len(failures) == 3
    assert any("dropped 1.20 s of audio" in e.message for e in failures)
    spans = [(u.span_start, u.span_end) for u in trace.of_type(TranscriptUpdate)]
    assert spans[-2:] == [(2.4, 3.6), (3.6, 4.8)]
    assert asr.statistics().seconds_dropped == pytest.approx(1.2 * (4 - len(spans)))


async def test_hanging_vllm_transcription_cancelled_tries_count_and_stay_bounded(hanging_vllm: Any) -> None:
    """A caller's deadline cancels requests to a hanging server: each counts as a failed try, so nothing piles up."""
    hanging_vllm.hang_requests = 2
    asr = perceiver(hanging_vllm, window=1.0)
    found: list[Perception] = []
    cancelled = 0
    try:
        for chunk in chunks(audio(("noise", 3.6))):
            with anyio.move_on_after(0.2) as scope:  # the session's per-call deadline
                found += await asr.perceive(chunk)
            cancelled += scope.cancelled_caught
        found += await asr.finish()
    finally:
        await asr.aclose()
    assert cancelled == 2
    assert hanging_vllm.hung == 2
    assert [(u.span_start, u.span_end) for u in transcripts(found)] == [(1.2, 2.4), (2.4, 3.6)]
    assert asr.statistics() == TranscriptionStatistics(
        segments_transcribed=2, requests_failed=2, segments_dropped=1, seconds_dropped=pytest.approx(1.2)
    )
