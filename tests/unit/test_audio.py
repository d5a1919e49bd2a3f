from __future__ import annotations

import numpy as np
import pytest

from audiointeract.audio import AudioChunk, AudioFormat, Rechunker, resample, to_mono_float32, to_session_audio
from audiointeract.errors import AudioFormatError, ConfigurationError


def test_default_format_is_400ms_at_16k() -> None:
    fmt = AudioFormat()
    assert (fmt.sample_rate, fmt.chunk_seconds, fmt.chunk_samples) == (16000, 0.4, 6400)


@pytest.mark.parametrize("seconds", [0.05, 2.5, 0.40001])
def test_chunk_duration_outside_range_or_fractional_is_rejected(seconds: float) -> None:
    with pytest.raises(ConfigurationError, match="chunk_seconds"):
        AudioFormat(chunk_seconds=seconds)


def test_unsupported_rate_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="12345 Hz"):
        AudioFormat(sample_rate=12345)


def test_chunk_times_and_immutability() -> None:
    chunk = AudioChunk(samples=np.zeros(6400, np.float32), sample_rate=16000, start_sample=12800, index=2)
    assert (chunk.start_time, chunk.end_time, chunk.duration) == (0.8, 1.2, 0.4)
    with pytest.raises(ValueError, match="read-only"):
        chunk.samples[0] = 1.0


@pytest.mark.parametrize(
    "samples",
    [np.zeros(10, np.float64), np.zeros((10, 1), np.float32), np.zeros(0, np.float32)],
)
def test_chunk_rejects_wrong_dtype_shape_or_empty(samples: np.ndarray) -> None:
    with pytest.raises(AudioFormatError):
        AudioChunk(samples=samples, sample_rate=16000, start_sample=0, index=0)


def test_int16_is_scaled_to_unit_range() -> None:
    out = to_mono_float32(np.array([-32768, 0, 16384, 32767], np.int16))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-1.0, 0.0, 0.5, 32767 / 32768], rtol=1e-6)


def test_stereo_frames_are_averaged_and_float64_converted() -> None:
    stereo = np.array([[1.0, 0.0], [0.5, -0.5]], np.float64)
    np.testing.assert_allclose(to_mono_float32(stereo), [0.5, 0.0])


def test_uint8_is_centred() -> None:
    np.testing.assert_allclose(to_mono_float32(np.array([0, 128, 255], np.uint8)), [-1.0, 0.0, 127 / 128], atol=1e-6)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.array([0.0, np.nan, 1.0]), "1 NaN or infinite"),
        (np.array([np.inf, -np.inf], np.float32), "2 NaN or infinite"),
        (np.zeros(0, np.int16), "empty"),
        (np.zeros((2, 2, 2), np.float32), "3-D"),
        (np.array(["a", "b"]), "unsupported sample dtype"),
    ],
)
def test_bad_audio_names_the_problem(data: np.ndarray, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        to_mono_float32(data)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resample_to_16k_keeps_duration_and_pitch(rate: int) -> None:
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = resample(tone, rate, 16000)
    assert out.size == 16000
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(int(np.argmax(spectrum)) - 440) <= 1


def test_to_session_audio_refuses_other_rate_without_resampling() -> None:
    with pytest.raises(AudioFormatError, match="44100 Hz but the session expects 16000 Hz"):
        to_session_audio(np.zeros(100, np.float32), 44100, AudioFormat(), allow_resample=False)


def test_rechunker_emits_exact_chunks_and_pads_the_last() -> None:
    fmt = AudioFormat(chunk_seconds=0.1)
    rechunker = Rechunker(fmt)
    data = np.arange(4000, dtype=np.float32) / 4000
    chunks = [*rechunker.push(data[:1234]), *rechunker.push(data[1234:]), *rechunker.flush()]
    assert [c.index for c in chunks] == [0, 1, 2]
    assert [c.start_sample for c in chunks] == [0, 1600, 3200]
    assert all(c.samples.size == 1600 for c in chunks)
    joined = np.concatenate([c.samples for c in chunks])
    np.testing.assert_array_equal(joined[:4000], data)
    assert not joined[4000:].any()
    assert list(rechunker.flush()) == []


def test_rechunker_rejects_non_session_format() -> None:
    with pytest.raises(AudioFormatError):
        list(Rechunker(AudioFormat()).push(np.zeros(10, np.int16)))  # type: ignore[arg-type]
