"""Streaming resampling: block by block equals one-shot, at every rate the SDK meets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiointeract.audio import AudioFormat, StreamResampler, resample, to_session_audio
from audiointeract.errors import AudioFormatError
from audiointeract.ingest import AudioIngest

TOLERANCE = 1e-4  # max abs difference between block-by-block and one-shot
RATE_PAIRS = [(8000, 16000), (22050, 16000), (44100, 16000), (48000, 16000), (16000, 22050), (16000, 24000)]


def signal(rate: int, seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    """A sweep up to near Nyquist plus noise: energy everywhere a filter can get wrong."""
    t = np.arange(round(seconds * rate)) / rate
    sweep = 0.4 * np.sin(2 * np.pi * (50 * t + 0.45 * rate / (2 * seconds) * t**2))
    noise = 0.2 * np.random.default_rng(seed).standard_normal(t.size)
    return np.clip(sweep + noise, -1, 1).astype(np.float32)


def in_blocks(resampler: StreamResampler, samples: np.ndarray, sizes: list[int]) -> np.ndarray:
    out, start = [], 0
    for size in sizes:
        out.append(resampler.process(samples[start : start + size]))
        start += size
    out.append(resampler.process(samples[start:]))
    out.append(resampler.flush())
    return np.concatenate(out)


def max_difference(source: int, target: int, sizes: list[int], samples: np.ndarray) -> float:
    streamed = in_blocks(StreamResampler(source, target), samples, sizes)
    whole = resample(samples, source, target)
    assert streamed.dtype == np.float32
    assert streamed.size == whole.size
    return float(np.max(np.abs(streamed - whole)))


@pytest.mark.parametrize(("source", "target"), RATE_PAIRS)
@pytest.mark.parametrize("block_seconds", [0.01, 0.02, 0.1, 0.4])
def test_block_by_block_equals_one_shot(source: int, target: int, block_seconds: float) -> None:
    samples = signal(source)
    size = round(block_seconds * source)
    assert max_difference(source, target, [size] * (samples.size // size), samples) <= TOLERANCE


@settings(max_examples=40, deadline=None)
@given(
    pair=st.sampled_from(RATE_PAIRS),
    sizes=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=40),
)
def test_irregular_blocks_equal_one_shot(pair: tuple[int, int], sizes: list[int]) -> None:
    source, target = pair
    assert max_difference(source, target, sizes, signal(source, seconds=1.0)) <= TOLERANCE


def test_blocks_resampled_alone_would_click_which_is_why_state_is_kept() -> None:
    """The failure this class exists for: per-block resampling differs from one-shot at every edge."""
    samples = signal(48000)
    size = 4800
    alone = np.concatenate([resample(samples[i : i + size], 48000, 16000) for i in range(0, samples.size, size)])
    whole = resample(samples, 48000, 16000)
    assert np.max(np.abs(alone - whole)) > 100 * TOLERANCE
    assert max_difference(48000, 16000, [size] * 15, samples) <= TOLERANCE


def test_process_holds_back_the_filter_tail_and_flush_returns_it() -> None:
    resampler = StreamResampler(44100, 16000)
    first = resampler.process(signal(44100, seconds=0.01))
    assert first.size < 160  # the filter looks ahead: output lags input
    tail = resampler.flush()
    assert first.size + tail.size == 160


def test_flush_ends_the_stream_and_the_next_block_starts_a_new_one() -> None:
    resampler = StreamResampler(22050, 16000)
    one, two = signal(22050, 0.5, seed=1), signal(22050, 0.5, seed=2)
    in_blocks(resampler, one, [441] * 20)
    again = in_blocks(resampler, two, [441] * 20)
    assert np.max(np.abs(again - resample(two, 22050, 16000))) <= TOLERANCE


def test_equal_rates_pass_through() -> None:
    resampler = StreamResampler(16000, 16000)
    block = signal(16000, 0.1)
    assert resampler.process(block) is block
    assert resampler.flush().size == 0
    assert (resampler.source_rate, resampler.target_rate) == (16000, 16000)


def test_output_stays_in_range() -> None:
    square = np.sign(np.sin(2 * np.pi * 1000 * np.arange(22050) / 22050)).astype(np.float32)
    assert np.max(np.abs(resample(square, 22050, 16000))) <= 1.0
    resampler = StreamResampler(22050, 16000)
    assert np.max(np.abs(in_blocks(resampler, square, [220] * 100))) <= 1.0


@pytest.mark.parametrize("rate", [0, -16000, 16000.0, "16000", True])
def test_bad_rates_name_the_problem(rate: object) -> None:
    with pytest.raises(AudioFormatError, match="positive whole number of Hz"):
        StreamResampler(rate, 16000)  # type: ignore[arg-type]
    with pytest.raises(AudioFormatError, match="target_rate must be"):
        resample(np.zeros(10, np.float32), 16000, rate)  # type: ignore[arg-type]


def test_numpy_integer_rates_are_accepted() -> None:
    assert StreamResampler(np.int64(48000), 16000).source_rate == 48000  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "samples", [np.zeros((10, 2), np.float32), np.zeros(10, np.int16)], ids=["stereo", "int16"]
)
def test_process_refuses_what_is_not_mono_float(samples: np.ndarray) -> None:
    with pytest.raises(AudioFormatError, match="1-D float samples"):
        StreamResampler(48000, 16000).process(samples)


def test_session_ingest_resamples_a_stream_in_10ms_blocks_like_one_shot() -> None:
    """The session's ingest carries the filter across blocks, and across a change of source rate."""
    fmt = AudioFormat(chunk_seconds=0.1)
    ingest = AudioIngest(fmt)
    first = (signal(48000, 1.0) * 32767).astype(np.int16)
    second = signal(22050, 1.0, seed=3)
    chunks = [c for i in range(0, first.size, 480) for c in ingest.push(first[i : i + 480], 48000)]
    stereo = np.stack([second, second], axis=1)
    chunks += [c for i in range(0, second.size, 220) for c in ingest.push(stereo[i : i + 220], 22050)]
    chunks += ingest.flush()
    expected = np.concatenate([to_session_audio(first, 48000, fmt), to_session_audio(second, 22050, fmt)])
    joined = np.concatenate([c.samples for c in chunks])
    assert np.max(np.abs(joined[: expected.size] - expected)) <= TOLERANCE
    assert not joined[expected.size :].any()  # only the zero padding of the last chunk follows
    assert joined.size - expected.size < fmt.chunk_samples
