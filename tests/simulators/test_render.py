"""Rendering: deterministic, exact length, SNR as requested, real clips resampled."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import StandingTask
from audiointeract.simulators import ClipBank, NoiseBed, Scene, Sound, Speech, default_bank, render
from audiointeract.simulators.render import SPEECH_LEVEL_DBFS

TASKS = [StandingTask(name="answer", instruction="a")]
BANK = default_bank()
needs_asterisk = pytest.mark.skipif(not BANK.available("asterisk"), reason="asterisk-core-sounds-en-wav not installed")
needs_sonic_pi = pytest.mark.skipif(not BANK.available("sonic-pi"), reason="sonic-pi-samples not installed")


def scene(noise: tuple[NoiseBed, ...] = ()) -> Scene:
    return Scene(
        segments=[
            Speech(start=0.25, duration=1.5, text="where are my keys"),
            Sound(start=2.0, duration=1.0, label="Alarm", synth="alarm"),
            Sound(start=3.0, duration=0.5, label="Beep", synth="tone", gain_db=-6),
            Sound(start=3.5, duration=0.5, label="Sweep", synth="chirp"),
            Sound(start=4.0, duration=0.5, label="Hiss", synth="noise"),
        ],
        tasks=TASKS,
        noise=noise,
    )


def test_same_scene_and_seed_give_identical_bytes() -> None:
    beds = (NoiseBed(snr_db=10.0, color="pink"), NoiseBed(snr_db=20.0, color="white", start=1.0, end=3.0))
    first = render(scene(beds), seed=7)
    second = render(scene(beds), seed=7)
    assert first.tobytes() == second.tobytes()
    assert render(scene(beds), seed=8).tobytes() != first.tobytes()


def test_length_dtype_and_silence_outside_segments() -> None:
    audio = render(scene(), seed=0, sample_rate=16000)
    assert audio.dtype == np.float32
    assert audio.size == round(scene().duration * 16000)
    assert np.all(audio[: int(0.25 * 16000)] == 0)
    assert np.all(audio[int(4.5 * 16000) :] == 0)
    assert np.all(np.abs(audio) <= 1.0)


def test_synthetic_speech_level_and_gain() -> None:
    audio = render(scene(), seed=0).astype(np.float64)
    speech = audio[int(0.25 * 16000) : int(1.75 * 16000)]
    level = 10 * math.log10(np.mean(speech**2))
    assert level == pytest.approx(SPEECH_LEVEL_DBFS, abs=0.5)
    tone = audio[int(3.0 * 16000) : int(3.5 * 16000)]
    assert 10 * math.log10(np.mean(tone**2)) == pytest.approx(SPEECH_LEVEL_DBFS - 6, abs=0.5)


def test_adding_a_segment_does_not_change_the_others() -> None:
    base = scene()
    more = Scene(segments=[*base.segments, Speech(start=5.0, duration=1.0, text="more")], tasks=TASKS)
    a, b = render(base, seed=3), render(more, seed=3)
    n = int(4.5 * 16000)
    assert a[:n].tobytes() == b[:n].tobytes()


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
def test_noise_bed_hits_the_requested_snr(color: str) -> None:
    clean = render(scene(), seed=1).astype(np.float64)
    noisy = render(scene((NoiseBed(snr_db=10.0, color=color),)), seed=1).astype(np.float64)
    noise = noisy - clean
    loud = np.abs(clean) > 1e-6
    snr = 10 * math.log10(np.mean(clean[loud] ** 2) / np.mean(noise**2))
    assert snr == pytest.approx(10.0, abs=0.2)


def test_noise_over_silence_uses_reference_level() -> None:
    quiet = Scene(segments=[], tasks=TASKS, duration=2.0, noise=[NoiseBed(snr_db=0.0, color="white")])
    audio = render(quiet, seed=0).astype(np.float64)
    assert 10 * math.log10(np.mean(audio**2)) == pytest.approx(-30.0, abs=0.3)


@needs_asterisk
def test_real_clip_is_resampled_and_cut_to_the_segment() -> None:
    clip = "asterisk:vm-savefolder"
    _samples, rate = BANK.load(clip)
    assert rate == 8000
    segment = Speech(start=0.0, duration=1.0, text="which folder", clip=clip)
    audio = render(Scene(segments=[segment], tasks=TASKS, tail=0.5), seed=0, sample_rate=16000)
    assert audio.size == 24000
    assert np.any(audio[:16000] != 0)
    assert np.all(audio[16000:] == 0)


@needs_sonic_pi
def test_clip_noise_bed_loops() -> None:
    bed = NoiseBed(snr_db=5.0, clip="sonic-pi:vinyl_hiss")
    audio = render(Scene(segments=[], tasks=TASKS, duration=12.0, noise=[bed]), seed=0)
    assert np.count_nonzero(audio[-16000:]) > 1000


def test_missing_clip_names_the_problem(tmp_path) -> None:
    bank = ClipBank({"sonic-pi": tmp_path})
    segment = Sound(start=0, duration=1, label="Crow", clip="sonic-pi:misc_crow")
    with pytest.raises(ConfigurationError, match="not found"):
        render(Scene(segments=[segment], tasks=TASKS), bank=bank)
    with pytest.raises(ConfigurationError, match="neither"):
        bank.path("nowhere:thing")
