"""Render a scene to audio, deterministically: same scene + same seed -> identical samples.

Every segment and noise bed draws from its own generator seeded with
``(seed, index)``, so adding a segment never changes how the others sound. Real clips
are resampled to the session rate with :func:`audiointeract.audio.resample`, cut or
zero-padded to the segment's duration, faded in and out (no clicks where segments
meet or overlap) and scaled by ``gain_db``. Segments without a clip get a synthetic
rendering: voiced, formant-shaped babble with one burst per word for speech; beeps,
tones, noise or chirps for sounds.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from audiointeract.audio import FloatArray, resample
from audiointeract.errors import ConfigurationError
from audiointeract.simulators.clips import ClipBank, default_bank
from audiointeract.simulators.scene import NoiseBed, Scene, Segment, Silence, Sound, Speech

__all__ = ["SPEECH_LEVEL_DBFS", "render", "render_segment"]

SPEECH_LEVEL_DBFS = -20.0
"""RMS level of synthetic speech and sounds before ``gain_db``."""
_FADE_SECONDS = 0.01
_QUIET_DBFS = -30.0
_NOISE_BLOCK = 1 << 20
_F64 = npt.NDArray[np.float64]
# Paul Kellet's pink-noise filter and a leaky integrator for brown noise
_PINK = ([0.049922035, -0.095993537, 0.050612699, -0.004408786], [1.0, -2.494956002, 2.017265875, -0.522189400])
_BROWN = ([1.0], [1.0, -0.995])


def render(scene: Scene, *, seed: int = 0, sample_rate: int = 16000, bank: ClipBank | None = None) -> FloatArray:
    """The scene's audio: mono float32 at ``sample_rate``, ``scene.duration`` long."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigurationError(f"seed must be a whole number >= 0, got {seed!r}")
    total = round(scene.duration * sample_rate)
    out = np.zeros(total, dtype=np.float32)
    clips = bank
    for index, segment in enumerate(scene.segments):
        if isinstance(segment, Silence):
            continue
        if segment.clip is not None and clips is None:
            clips = default_bank()
        audio = render_segment(segment, seed=seed, index=index, sample_rate=sample_rate, bank=clips)
        start = round(segment.start * sample_rate)
        stop = min(total, start + audio.size)
        out[start:stop] += audio[: stop - start].astype(np.float32)
    foreground = out.copy() if scene.noise else out
    for number, bed in enumerate(scene.noise):
        if bed.clip is not None and clips is None:
            clips = default_bank()
        _add_noise(out, foreground, bed, seed=seed, index=number, sample_rate=sample_rate, bank=clips)
    np.clip(out, -1.0, 1.0, out=out)
    return out


def render_segment(
    segment: Segment, *, seed: int, index: int, sample_rate: int, bank: ClipBank | None = None
) -> _F64:
    """One segment's samples (float64, exactly its duration), faded and gained."""
    size = max(1, round(segment.duration * sample_rate))
    rng = np.random.default_rng([seed, index])
    if segment.clip is not None:
        clips = bank or default_bank()
        samples, rate = clips.load(segment.clip)
        audio = resample(np.asarray(samples, dtype=np.float32), rate, sample_rate).astype(np.float64)
        audio = np.pad(audio[:size], (0, max(0, size - audio.size)))
    elif isinstance(segment, Speech):
        audio = _babble(segment.text, size, sample_rate, rng)
    elif isinstance(segment, Sound):
        audio = _sound(segment.synth, size, sample_rate, rng)
    else:
        audio = np.zeros(size)
    _fade(audio, round(_FADE_SECONDS * sample_rate))
    return audio * 10 ** (segment.gain_db / 20)


def _fade(audio: _F64, length: int) -> None:
    length = min(length, audio.size // 4)
    if length < 1:
        return
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, length))
    audio[:length] *= ramp
    audio[-length:] *= ramp[::-1]


def _at_level(audio: _F64, dbfs: float) -> _F64:
    rms = math.sqrt(float(np.mean(audio * audio))) if audio.size else 0.0
    if rms < 1e-12:
        return audio
    return audio * (10 ** (dbfs / 20) / rms)


def _babble(text: str, size: int, rate: int, rng: np.random.Generator) -> _F64:
    """Speech-like audio: a voiced, formant-shaped burst per word, pitch drifting."""
    words = text.split() or [text]
    weights = np.array([len(word) + 2 for word in words], dtype=np.float64)
    bounds = np.concatenate([[0.0], np.cumsum(weights / weights.sum())]) * size
    out = np.zeros(size)
    base_f0 = rng.uniform(100.0, 210.0)
    for number in range(len(words)):
        start, stop = int(bounds[number]), int(bounds[number + 1])
        length = max(1, int((stop - start) * 0.85))
        t = np.arange(length) / rate
        f0 = base_f0 * rng.uniform(0.9, 1.12) * (1 + 0.05 * np.sin(2 * math.pi * rng.uniform(2, 5) * t))
        phase = 2 * math.pi * np.cumsum(f0) / rate
        f1, f2 = rng.uniform(300.0, 850.0), rng.uniform(900.0, 2400.0)
        burst = np.zeros(length)
        for harmonic in range(1, int(3800 / base_f0)):
            freq = harmonic * base_f0
            gain = math.exp(-(((freq - f1) / 180) ** 2)) + 0.6 * math.exp(-(((freq - f2) / 280) ** 2)) + 0.05 / harmonic
            burst += gain * np.sin(harmonic * phase + rng.uniform(0, 2 * math.pi))
        envelope = np.sin(np.linspace(0.0, math.pi, length)) ** 2
        syllables = 0.6 + 0.4 * np.abs(np.sin(2 * math.pi * rng.uniform(3.0, 5.0) * t))
        out[start : start + length] = burst * envelope * syllables
    return _at_level(out, SPEECH_LEVEL_DBFS)


def _sound(kind: str, size: int, rate: int, rng: np.random.Generator) -> _F64:
    t = np.arange(size) / rate
    if kind == "alarm":
        period, high, low = rng.uniform(0.3, 0.5), rng.uniform(850.0, 1000.0), rng.uniform(600.0, 750.0)
        beat = np.floor(t / period).astype(np.int64)
        freq = np.where(beat % 2 == 0, high, low)
        on = (t % period) < 0.8 * period
        audio = np.sign(np.sin(2 * math.pi * np.cumsum(freq) / rate)) * on
    elif kind == "tone":
        audio = np.sin(2 * math.pi * rng.uniform(400.0, 2000.0) * t)
    elif kind == "chirp":
        f_start, f_end = rng.uniform(300.0, 800.0), rng.uniform(2000.0, 4000.0)
        freq = f_start + (f_end - f_start) * t / max(t[-1], 1e-9)
        audio = np.sin(2 * math.pi * np.cumsum(freq) / rate)
    else:
        audio = rng.standard_normal(size)
    return _at_level(audio.astype(np.float64), SPEECH_LEVEL_DBFS)


def _add_noise(
    out: FloatArray,
    foreground: FloatArray,
    bed: NoiseBed,
    *,
    seed: int,
    index: int,
    sample_rate: int,
    bank: ClipBank | None,
) -> None:
    start = round(bed.start * sample_rate)
    stop = out.size if bed.end is None else min(out.size, round(bed.end * sample_rate))
    if stop <= start:
        return
    span = foreground[start:stop]
    loud = span[np.abs(span) > 1e-6]
    signal_power = float(np.mean(loud.astype(np.float64) ** 2)) if loud.size else 10 ** (_QUIET_DBFS / 10)
    noise = _noise(bed, stop - start, sample_rate, np.random.default_rng([seed, 1_000_000 + index]), bank)
    noise_power = float(np.mean(noise.astype(np.float64) ** 2))
    if noise_power < 1e-20:
        return
    scale = math.sqrt(signal_power / (noise_power * 10 ** (bed.snr_db / 10)))
    out[start:stop] += (noise * scale).astype(np.float32)


def _noise(bed: NoiseBed, size: int, rate: int, rng: np.random.Generator, bank: ClipBank | None) -> FloatArray:
    if bed.clip is not None:
        clips = bank or default_bank()
        samples, clip_rate = clips.load(bed.clip)
        loop = resample(np.asarray(samples, dtype=np.float32), clip_rate, rate)
        return np.resize(loop, size).astype(np.float32)
    from scipy.signal import lfilter  # noqa: PLC0415 - only coloured noise needs scipy

    if bed.color == "white":
        return rng.standard_normal(size, dtype=np.float32)
    b, a = _PINK if bed.color == "pink" else _BROWN
    out = np.empty(size, dtype=np.float32)
    state = np.zeros(len(a) - 1)
    for begin in range(0, size, _NOISE_BLOCK):
        white = rng.standard_normal(min(_NOISE_BLOCK, size - begin))
        filtered, state = lfilter(b, a, white, zi=state)
        out[begin : begin + white.size] = filtered
    return out
