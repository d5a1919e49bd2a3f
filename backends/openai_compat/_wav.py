"""Float32 PCM to WAV bytes and base64 ``input_audio`` parts, as OpenAI-compatible servers take audio."""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import numpy as np

from audiointeract.audio import FloatArray
from audiointeract.errors import AudioFormatError

__all__ = ["input_audio_part", "wav_bytes"]


def wav_bytes(samples: FloatArray, sample_rate: int) -> bytes:
    """A complete 16-bit mono WAV file of ``samples`` (float32 in [-1, 1], clipped)."""
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim != 1 or array.size == 0:
        raise AudioFormatError(f"WAV audio must be non-empty 1-D samples, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise AudioFormatError("WAV audio contains NaN or infinite values")
    pcm = (np.clip(array, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def input_audio_part(samples: FloatArray, sample_rate: int) -> dict[str, Any]:
    """A chat-completions content part carrying ``samples`` as a base64 WAV file."""
    data = base64.b64encode(wav_bytes(samples, sample_rate)).decode("ascii")
    return {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}
