"""The shared sound-event machinery: event merging and stream windowing (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from audiointeract.audio import AudioChunk, AudioFormat, FloatArray, Rechunker
from audiointeract.backends.sound_events import DEFAULT_DENY, EventMerger, WindowedSoundEventPerceiver
from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception, SoundEvent
from audiointeract.testing import check_perceiver

LABELS = ("Speech", "Siren", "Dog", "Silence")


def _feed(merger: EventMerger, rows: list[list[float]], hop: float = 0.5, window: float = 1.0) -> list[SoundEvent]:
    scores = np.array(rows, dtype=np.float32)
    starts = [i * hop for i in range(len(rows))]
    return merger.update(scores, starts, [s + window for s in starts])


def test_consecutive_windows_merge_into_one_event_with_the_max_score() -> None:
    merger = EventMerger(LABELS, threshold=0.5)
    events = _feed(merger, [[0, 0.6, 0, 0], [0, 0.9, 0, 0], [0, 0.7, 0, 0]])
    assert [(e.label, e.span_start, e.span_end) for e in events] == [("Siren", 0.0, 2.0)]
    assert events[0].score == pytest.approx(0.9)


def test_a_sounding_label_is_not_emitted_again_until_it_was_absent_for_release_seconds() -> None:
    merger = EventMerger(LABELS, threshold=0.5, release_seconds=1.0)
    assert len(merger.update(np.array([[0, 0.8, 0, 0]], np.float32), [0.0], [1.0])) == 1
    # still sounding in the next call: no new event
    assert merger.update(np.array([[0, 0.8, 0, 0]], np.float32), [0.5], [1.5]) == []
    # absent for 0.5 s (less than release): a return is the same event
    assert merger.update(np.array([[0, 0.1, 0, 0]], np.float32), [1.0], [2.0]) == []
    assert merger.update(np.array([[0, 0.8, 0, 0]], np.float32), [1.5], [2.5]) == []
    # absent for > 1 s: a return is a new event
    assert merger.update(np.array([[0, 0.1, 0, 0], [0, 0.1, 0, 0], [0, 0.1, 0, 0]], np.float32),
                         [2.0, 2.5, 3.0], [3.0, 3.5, 4.0]) == []
    again = merger.update(np.array([[0, 0.7, 0, 0]], np.float32), [3.5], [4.5])
    assert [(e.label, e.span_start) for e in again] == [("Siren", 3.5)]


def test_two_onsets_within_one_batch_give_two_events() -> None:
    merger = EventMerger(LABELS, threshold=0.5, release_seconds=0.4)
    events = _feed(merger, [[0, 0, 0.9, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0.6, 0]])
    assert [(e.label, e.span_start) for e in events] == [("Dog", 0.0), ("Dog", 1.5)]
    assert [e.score for e in events] == pytest.approx([0.9, 0.6])


def test_speech_and_silence_are_denied_by_default_and_allow_restricts() -> None:
    rows = [[1.0, 0.9, 0.9, 1.0]]
    assert {e.label for e in _feed(EventMerger(LABELS), rows)} == {"Siren", "Dog"}
    assert {e.label for e in _feed(EventMerger(LABELS, deny=()), rows)} == set(LABELS)
    assert {e.label for e in _feed(EventMerger(LABELS, allow={"Siren"}), rows)} == {"Siren"}
    assert "Speech" in DEFAULT_DENY


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="Sirenn"):
        EventMerger(LABELS, allow={"Sirenn"})
    with pytest.raises(ConfigurationError, match="threshold"):
        EventMerger(LABELS, threshold=0.0)
    with pytest.raises(ConfigurationError, match="release_seconds"):
        EventMerger(LABELS, release_seconds=-1.0)


class LoudnessTagger(WindowedSoundEventPerceiver):
    """A real (tiny) model: 'Loud' scores the window's peak amplitude, at 16 kHz."""

    name = "loudness"

    def __init__(self, **options: object) -> None:
        self.windows_seen: list[int] = []
        super().__init__(labels=("Loud",), model_rate=16000, window_seconds=0.975, hop_seconds=0.48,
                         offload=False, **options)  # type: ignore[arg-type]

    def score_windows(self, windows: FloatArray) -> FloatArray:
        self.windows_seen.append(windows.shape[1])
        scores: FloatArray = np.abs(windows).max(axis=1, keepdims=True).astype(np.float32)
        return scores


def _burst(rate: int, seconds: float = 6.0, at: float = 3.0) -> FloatArray:
    t = np.arange(round(seconds * rate)) / rate
    tone = 0.8 * np.sin(2 * np.pi * 440 * t) * ((t >= at) & (t < at + 0.5))
    return tone.astype(np.float32)


async def _stream(perceiver: WindowedSoundEventPerceiver, audio: FloatArray, fmt: AudioFormat) -> list[SoundEvent]:
    rechunker = Rechunker(fmt)
    events: list[SoundEvent] = []
    for chunk in [*rechunker.push(audio), *rechunker.flush()]:
        out = await perceiver.perceive(chunk)
        assert all(p.span_end <= chunk.end_time + 1e-9 for p in out)
        events += [p for p in out if isinstance(p, SoundEvent)]
    events += [p for p in await perceiver.finish() if isinstance(p, SoundEvent)]
    return events


@pytest.mark.anyio
@pytest.mark.parametrize("chunk_seconds", [0.1, 0.4, 2.0])
@pytest.mark.parametrize("rate", [8000, 16000, 44100])
async def test_windows_follow_the_stream_for_any_chunk_size_and_rate(chunk_seconds: float, rate: int) -> None:
    tagger = LoudnessTagger()
    events = await _stream(tagger, _burst(rate), AudioFormat(sample_rate=rate, chunk_seconds=chunk_seconds))
    assert len(events) == 1
    event = events[0]
    # the first window that reaches the burst at 3.0 s starts at k * 0.48 with k * 0.48 + 0.975 > 3.0
    assert event.span_start == pytest.approx(2.4, abs=1e-6)
    assert event.score == pytest.approx(0.8, abs=0.05)
    assert set(tagger.windows_seen) == {15600}


@pytest.mark.anyio
async def test_finish_scores_the_tail_of_a_short_stream() -> None:
    audio = np.zeros(8000, dtype=np.float32)
    audio[1000:3000] = 0.9
    events = await _stream(LoudnessTagger(), audio, AudioFormat())
    assert [(e.label, e.span_start, e.span_end) for e in events] == [("Loud", 0.0, 0.8)]


@pytest.mark.anyio
async def test_a_gap_in_the_stream_restarts_the_window_grid() -> None:
    tagger = LoudnessTagger()
    quiet = np.zeros(6400, dtype=np.float32)
    loud = np.full(6400, 0.9, dtype=np.float32)
    for index in range(3):
        await tagger.perceive(AudioChunk(samples=quiet, sample_rate=16000, start_sample=6400 * index, index=index))
    # chunks 3..9 were dropped; the next one starts at 10 * 6400
    out: list[Perception] = []
    for index in range(10, 13):
        out += await tagger.perceive(AudioChunk(samples=loud, sample_rate=16000, start_sample=6400 * index,
                                                index=index))
    assert [(p.span_start >= 4.0) for p in out] == [True]


@pytest.mark.anyio
async def test_conformance() -> None:
    await check_perceiver(LoudnessTagger, audio=_burst(16000))
