"""Realistic synthetic alarm signals over a noise floor, for tests and benchmarks of sound taggers.

Unlike the scene renderer's generic ``alarm`` sound, these follow real devices: the
NFPA-72 temporal-3 smoke alarm, a wailing siren, a US phone ring. Taggers read an alarm
with digital-zero gaps as "Silence", so :func:`over_noise_floor` puts a sound into pink
noise a set number of dB below it.
"""

from __future__ import annotations

import numpy as np

from audiointeract.audio import FloatArray

__all__ = ["over_noise_floor", "phone_ring", "pink_noise", "siren_wail", "smoke_alarm_t3"]


def pink_noise(seconds: float, rms: float, *, seed: int = 0, sample_rate: int = 16000) -> FloatArray:
    """Seeded 1/f noise scaled to standard deviation ``rms`` (its RMS, up to a small DC offset)."""
    n = round(seconds * sample_rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    freqs[0] = freqs[1]
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    scaled: FloatArray = (rms * noise / noise.std()).astype(np.float32)
    return scaled


def smoke_alarm_t3(cycles: int = 2, *, sample_rate: int = 16000) -> FloatArray:
    """NFPA-72 temporal-3 pattern of a 3.1 kHz piezo: 3 x (0.5 s on, 0.5 s off), then 1.5 s off."""
    t = np.arange(round(0.5 * sample_rate)) / sample_rate
    beep = 0.3 * np.sum([np.sin(2 * np.pi * k * 3100 * t) / k for k in (1, 3, 5)], axis=0)
    ramp = round(0.005 * sample_rate)
    beep[:ramp] *= np.linspace(0, 1, ramp)
    beep[-ramp:] *= np.linspace(1, 0, ramp)
    cycle = np.concatenate([beep, np.zeros_like(beep)] * 3 + [np.zeros(sample_rate)])
    return np.tile(cycle, cycles).astype(np.float32)


def siren_wail(seconds: float = 6.0, *, sample_rate: int = 16000) -> FloatArray:
    """A siren sweeping 650-1500 Hz every 2 s, with two overtones."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(1075 + 425 * np.sin(2 * np.pi * 0.5 * t)) / sample_rate
    return (0.25 * (np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.3 * np.sin(3 * phase))).astype(np.float32)


def phone_ring(*, sample_rate: int = 16000) -> FloatArray:
    """Two US rings (440 + 480 Hz, 2 s on, 4 s off)."""
    t = np.arange(2 * sample_rate) / sample_rate
    ring = 0.2 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t))
    return np.concatenate([ring, np.zeros(4 * sample_rate), ring]).astype(np.float32)


def over_noise_floor(
    sound: FloatArray, *, lead: float, tail: float, floor_db: float, seed: int = 0, sample_rate: int = 16000
) -> FloatArray:
    """``sound`` starting ``lead`` seconds into pink noise ``floor_db`` dB below the sound's RMS."""
    rms = float(np.sqrt(np.mean(sound**2))) or 1e-3
    audio = pink_noise(lead + sound.size / sample_rate + tail, rms * 10 ** (floor_db / 20),
                       seed=seed, sample_rate=sample_rate)
    start = round(lead * sample_rate)
    audio[start : start + sound.size] += sound
    return audio
