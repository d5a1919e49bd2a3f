"""The clip bank: names, paths, transcripts, environment overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from audiointeract.errors import AudioFormatError, ConfigurationError
from audiointeract.lru import LruCache
from audiointeract.simulators import ClipBank, clips, default_bank, load_scene
from audiointeract.simulators.clips import CLIP_CACHE, DEFAULT_ROOTS

BANK = default_bank()
EXAMPLES = Path(__file__).parents[2] / "examples" / "scenes"


def test_env_overrides_the_roots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DEFAULT_ROOTS["sonic-pi"][0], str(tmp_path))
    soundfile.write(tmp_path / "beep.flac", np.full(800, 0.25, np.float32), 8000)
    bank = default_bank()
    samples, rate = bank.load("sonic-pi:beep")
    assert rate == 8000
    assert samples.size == 800
    assert bank.duration("sonic-pi:beep") == pytest.approx(0.1)


def test_plain_paths_and_raw_files(tmp_path: Path) -> None:
    raw = tmp_path / "x.raw"
    (np.arange(1600, dtype="<i2") - 800).tofile(raw)
    samples, rate = ClipBank({"t": tmp_path}).load("t:x")  # a bank declares its raw format (16 kHz s16)
    assert (samples.size, rate) == (1600, 16000)
    (np.zeros(800, dtype="<i2")).tofile(tmp_path / "z.raw")
    assert ClipBank({"t": tmp_path}, raw_rate=8000).load("t:z.raw")[1] == 8000
    with pytest.raises(ConfigurationError, match="raw PCM, which has no header"):
        ClipBank({}).load(str(raw))  # by path, nothing says what it holds
    soundfile.write(tmp_path / "y.wav", np.zeros(800, np.float32), 8000)
    assert ClipBank({}).load(str(tmp_path / "y.wav"))[1] == 8000
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    with pytest.raises(AudioFormatError, match="empty"):
        ClipBank({"t": tmp_path}).load("t:empty")


@pytest.mark.skipif(not BANK.available("asterisk"), reason="asterisk sounds not installed")
def test_asterisk_transcripts() -> None:
    assert BANK.transcript("asterisk:vm-savefolder") == "Which folder should I save the message to?"
    assert BANK.transcript("sonic-pi:misc_crow") is None


@pytest.mark.skipif(not BANK.available("pocketsphinx"), reason="pocketsphinx-testdata not installed")
def test_librivox_transcripts() -> None:
    clip = "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0880"
    assert BANK.transcript(clip) == "he was not an ill disposed young man"
    assert BANK.duration(clip) == pytest.approx(2.99, abs=0.01)


@pytest.mark.skipif(
    not all(BANK.available(b) for b in ("asterisk", "pocketsphinx", "sonic-pi")), reason="clip banks not installed"
)
def test_real_example_scene_loads_lengths_and_transcripts() -> None:
    scene = load_scene(EXAMPLES / "kitchen_real.toml")
    texts = [getattr(s, "text", None) for s in scene.segments]
    assert "Which folder should I save the message to?" in texts
    assert len(scene.expectations()) == 3
    assert scene.segments[1].start == pytest.approx(scene.segments[0].end + 1.0)


def test_decoded_clips_are_kept_within_the_cache_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bank = ClipBank({"t": tmp_path})
    CLIP_CACHE.clear()
    for n in range(CLIP_CACHE.max_entries + 40):
        (np.full(16, n, "<i2")).tofile(tmp_path / f"c{n}.raw")
        bank.load(f"t:c{n}")
    assert len(CLIP_CACHE) == CLIP_CACHE.max_entries
    first = str(tmp_path / "c0.raw")
    assert first not in CLIP_CACHE  # the oldest went first, and loads again from disk
    assert bank.load("t:c0")[0][0] == 0.0
    assert first in CLIP_CACHE
    assert CLIP_CACHE.max_weight == 64 * 2**20
    small: LruCache[str, tuple[np.ndarray, int]] = LruCache(100, max_weight=4000, weigh=lambda clip: clip[0].nbytes)
    monkeypatch.setattr(clips, "CLIP_CACHE", small)  # the same rule, with a budget a test can fill
    for n in range(20):
        (np.zeros(300, "<i2")).tofile(tmp_path / f"w{n}.raw")  # 1200 bytes once decoded
        bank.load(f"t:w{n}")
        assert small.weight <= 4000
    assert len(small) == 3
