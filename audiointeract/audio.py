"""Audio at the session boundary: the session format, chunks, and every conversion.

All audio inside a session is mono float32 in [-1, 1] at one sample rate, cut into
chunks of one fixed duration. Whatever arrives (int16, float64, stereo, another
sample rate) is converted here, once, and bad input raises
:class:`~audiointeract.errors.AudioFormatError` naming the problem.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

import attrs
import numpy as np
import numpy.typing as npt

from audiointeract.errors import AudioFormatError, ConfigurationError

__all__ = [
    "MAX_CHUNK_SECONDS",
    "MIN_CHUNK_SECONDS",
    "AudioChunk",
    "AudioFormat",
    "FloatArray",
    "Rechunker",
    "StreamResampler",
    "resample",
    "to_mono_float32",
    "to_session_audio",
]

FloatArray = npt.NDArray[np.float32]

MIN_CHUNK_SECONDS = 0.1
MAX_CHUNK_SECONDS = 2.0
_SUPPORTED_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)


def _check_rate(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value not in _SUPPORTED_RATES:
        raise ConfigurationError(
            f"{attribute.name}={value} Hz is not supported; use one of {_SUPPORTED_RATES}"
        )


@attrs.frozen(kw_only=True)
class AudioFormat:
    """The session's audio format: sample rate and fixed chunk duration."""

    sample_rate: int = attrs.field(default=16000, validator=_check_rate)
    chunk_seconds: float = attrs.field(default=0.4)

    @chunk_seconds.validator
    def _check_chunk(self, _: attrs.Attribute[float], value: float) -> None:
        if not MIN_CHUNK_SECONDS <= value <= MAX_CHUNK_SECONDS:
            raise ConfigurationError(
                f"chunk_seconds={value} is outside [{MIN_CHUNK_SECONDS}, {MAX_CHUNK_SECONDS}] s"
            )
        samples = value * self.sample_rate
        if abs(samples - round(samples)) > 1e-6:
            raise ConfigurationError(
                f"chunk_seconds={value} is not a whole number of samples at {self.sample_rate} Hz"
            )

    @property
    def chunk_samples(self) -> int:
        """Samples per chunk (6400 for the default 400 ms at 16 kHz)."""
        return round(self.chunk_seconds * self.sample_rate)


def _freeze(samples: FloatArray) -> FloatArray:
    samples.flags.writeable = False
    return samples


@attrs.frozen(kw_only=True, eq=False)
class AudioChunk:
    """One fixed-size block of session audio and where it sits in the stream.

    ``start_sample`` counts samples since the session's first sample, so
    ``start_time`` is exact stream time (seconds), independent of any clock.
    """

    samples: FloatArray = attrs.field(converter=_freeze)
    sample_rate: int
    start_sample: int
    index: int

    def __attrs_post_init__(self) -> None:
        if self.samples.dtype != np.float32 or self.samples.ndim != 1:
            raise AudioFormatError(
                f"AudioChunk samples must be 1-D float32, got {self.samples.dtype} "
                f"with shape {self.samples.shape}"
            )
        if self.samples.size == 0:
            raise AudioFormatError("AudioChunk must hold at least one sample")
        if self.start_sample < 0 or self.index < 0:
            raise AudioFormatError("AudioChunk start_sample and index must be >= 0")

    @property
    def start_time(self) -> float:
        """Stream time of the first sample, in seconds."""
        return self.start_sample / self.sample_rate

    @property
    def duration(self) -> float:
        """Length of the chunk in seconds."""
        return self.samples.size / self.sample_rate

    @property
    def end_time(self) -> float:
        """Stream time just after the last sample, in seconds."""
        return (self.start_sample + self.samples.size) / self.sample_rate


def to_mono_float32(data: npt.ArrayLike, *, channels_last: bool = True) -> FloatArray:
    """Convert int16/int32/float samples, mono or multi-channel, to mono float32.

    Integer input is scaled to [-1, 1]; several channels are averaged. A 2-D array
    is read as (frames, channels) unless ``channels_last`` is False.
    """
    array = np.asarray(data)
    if array.ndim not in (1, 2):
        raise AudioFormatError(f"audio must be 1-D (mono) or 2-D (multi-channel), got {array.ndim}-D")
    if array.size == 0:
        raise AudioFormatError("audio is empty (0 samples)")
    if array.dtype.kind == "i":
        scale = float(np.iinfo(array.dtype).max) + 1.0
        floats = array.astype(np.float64) / scale
    elif array.dtype.kind == "u":
        info = np.iinfo(array.dtype)
        mid = (float(info.max) + 1.0) / 2.0
        floats = (array.astype(np.float64) - mid) / mid
    elif array.dtype.kind == "f":
        floats = array.astype(np.float64, copy=False)
        if not np.all(np.isfinite(floats)):
            bad = int(np.count_nonzero(~np.isfinite(floats)))
            raise AudioFormatError(f"audio contains {bad} NaN or infinite sample(s)")
    else:
        raise AudioFormatError(f"unsupported sample dtype {array.dtype}; use int16, int32 or float")
    if floats.ndim == 2:
        floats = floats.mean(axis=1 if channels_last else 0)
    return np.clip(floats, -1.0, 1.0).astype(np.float32)


def resample(samples: FloatArray, source_rate: int, target_rate: int) -> FloatArray:
    """Resample mono float32 audio with a polyphase anti-aliasing filter."""
    if source_rate <= 0 or target_rate <= 0:
        raise AudioFormatError(f"sample rates must be positive, got {source_rate} -> {target_rate}")
    if source_rate == target_rate:
        return samples
    from scipy.signal import resample_poly  # noqa: PLC0415 - scipy only when resampling

    divisor = gcd(source_rate, target_rate)
    ratio = Fraction(target_rate // divisor, source_rate // divisor)
    out: npt.NDArray[np.float64] = np.asarray(
        resample_poly(samples.astype(np.float64), ratio.numerator, ratio.denominator), dtype=np.float64
    )
    clipped: FloatArray = np.clip(out, -1.0, 1.0).astype(np.float32)
    return clipped


def to_session_audio(
    data: npt.ArrayLike,
    sample_rate: int,
    fmt: AudioFormat,
    *,
    allow_resample: bool = True,
) -> FloatArray:
    """Convert arbitrary PCM to the session format (mono float32 at ``fmt.sample_rate``)."""
    mono = to_mono_float32(data)
    if sample_rate != fmt.sample_rate and not allow_resample:
        raise AudioFormatError(
            f"audio is at {sample_rate} Hz but the session expects {fmt.sample_rate} Hz "
            "and resampling is not allowed"
        )
    return resample(mono, sample_rate, fmt.sample_rate)


class Rechunker:
    """Cut a stream of arbitrary-length session-format blocks into fixed chunks.

    Samples are kept until a whole chunk is available; :meth:`flush` pads the last
    partial chunk with zeros (as the paper's release does) so nothing is lost.
    """

    def __init__(self, fmt: AudioFormat) -> None:
        self._fmt = fmt
        self._pending: list[FloatArray] = []
        self._pending_size = 0
        self._next_sample = 0
        self._next_index = 0

    @property
    def samples_emitted(self) -> int:
        """Samples handed out in chunks so far."""
        return self._next_sample

    def push(self, samples: FloatArray) -> list[AudioChunk]:
        """Add session-format samples and return every chunk that is now complete."""
        if samples.dtype != np.float32 or samples.ndim != 1:
            raise AudioFormatError("Rechunker.push expects 1-D float32 samples in the session format")
        if samples.size:
            self._pending.append(samples)
            self._pending_size += samples.size
        size = self._fmt.chunk_samples
        if self._pending_size < size:
            return []
        joined = np.concatenate(self._pending)
        whole = joined.size - joined.size % size
        chunks = [self._emit(joined[start : start + size]) for start in range(0, whole, size)]
        rest = joined[whole:]
        self._pending = [rest] if rest.size else []
        self._pending_size = rest.size
        return chunks

    def flush(self) -> list[AudioChunk]:
        """Return the last partial chunk, zero-padded to full size, if any samples remain."""
        if self._pending_size == 0:
            return []
        joined = np.concatenate(self._pending)
        padded = np.zeros(self._fmt.chunk_samples, dtype=np.float32)
        padded[: joined.size] = joined
        self._pending, self._pending_size = [], 0
        return [self._emit(padded)]

    def _emit(self, samples: FloatArray) -> AudioChunk:
        chunk = AudioChunk(
            samples=samples.copy(),
            sample_rate=self._fmt.sample_rate,
            start_sample=self._next_sample,
            index=self._next_index,
        )
        self._next_sample += samples.size
        self._next_index += 1
        return chunk


class StreamResampler:
    """Resample a stream block by block, carrying the filter state across blocks (soxr)."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        import soxr  # noqa: PLC0415

        self.source_rate = source_rate
        self.target_rate = target_rate
        self._stream = soxr.ResampleStream(source_rate, target_rate, 1, dtype="float32", quality="HQ")

    def process(self, samples: FloatArray) -> FloatArray:
        """Resample the next block (may return fewer samples than the ratio: filter latency)."""
        out: FloatArray = self._stream.resample_chunk(samples, last=False)
        return out

    def flush(self) -> FloatArray:
        """The tail held back by the filter, at the end of the stream."""
        out: FloatArray = self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
        return out
