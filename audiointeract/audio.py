"""Audio at the session boundary: the session format, chunks, and every conversion.

All audio inside a session is mono float32 in [-1, 1] at one sample rate, cut into
chunks of one fixed duration. Whatever arrives (int16, float64, stereo, another
sample rate) is converted here, once, and bad input raises
:class:`~audiointeract.errors.AudioFormatError` naming the problem.

Resampling uses soxr's high-quality filter. A live stream is resampled with a
:class:`StreamResampler`, which keeps the filter state between blocks, so resampling
block by block gives the same samples as :func:`resample` on the whole signal: no
click at block boundaries.
"""

from __future__ import annotations

import operator

import attrs
import numpy as np
import numpy.typing as npt
import soxr

from audiointeract.errors import AudioFormatError, ConfigurationError

__all__ = [
    "MAX_CHANNELS",
    "MAX_CHUNK_SECONDS",
    "MAX_SAMPLE_RATE",
    "MIN_CHUNK_SECONDS",
    "MIN_SAMPLE_RATE",
    "AudioChunk",
    "AudioFormat",
    "FloatArray",
    "Rechunker",
    "StreamResampler",
    "check_frames",
    "check_sample_rate",
    "resample",
    "to_mono_float32",
    "to_session_audio",
]

FloatArray = npt.NDArray[np.float32]

MIN_CHUNK_SECONDS = 0.1
MAX_CHUNK_SECONDS = 2.0
MIN_SAMPLE_RATE = 4000
"""Lowest sample rate (Hz) a source, a file or a resampler accepts."""
MAX_SAMPLE_RATE = 384_000
"""Highest sample rate (Hz) a source, a file or a resampler accepts."""
MAX_CHANNELS = 64
"""Most channels a multi-channel block may have; more means the array is likely (channels, frames)."""
_SUPPORTED_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
_QUALITY = "HQ"  # soxr's high quality (20-bit): the one filter for one-shot and streaming resampling


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


def check_sample_rate(rate: object, name: str = "sample_rate") -> int:
    """``rate`` as an int if it is a whole number of Hz in [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE].

    Anything else (0, negative, 16000.5, a string, a header that says 1 Hz or 2**31 - 1 Hz)
    raises one :class:`~audiointeract.errors.AudioFormatError` naming ``name``.
    """
    try:
        value = operator.index(rate)  # type: ignore[arg-type]  # int and numpy integers; not 16000.0 or "16000"
    except TypeError:
        value = 0
    if isinstance(rate, bool) or not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise AudioFormatError(
            f"{name} must be a positive whole number of Hz from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}, got {rate!r}"
        )
    return value


def check_frames(array: npt.NDArray[np.generic], what: str) -> None:
    """Reject a 2-D array that is likely (channels, frames) rather than (frames, channels).

    A block with more than :data:`MAX_CHANNELS` columns is ambiguous at best: the message
    says how to pass it.
    """
    if array.ndim != 2 or array.shape[1] <= MAX_CHANNELS:
        return
    if array.shape[0] <= MAX_CHANNELS:
        raise AudioFormatError(
            f"{what} got an array of shape {array.shape}, which looks like (channels, frames); "
            f"pass (frames, channels) instead, e.g. samples.T (a mono signal as a 1-D array)"
        )
    raise AudioFormatError(
        f"{what} got an array of shape {array.shape}: {array.shape[1]} channels, more than {MAX_CHANNELS}; "
        "pass (frames, channels)"
    )


def _checked_rates(source_rate: int, target_rate: int) -> tuple[int, int]:
    return check_sample_rate(source_rate, "source_rate"), check_sample_rate(target_rate, "target_rate")


def _mono_block(samples: FloatArray, what: str) -> FloatArray:
    array = np.asarray(samples)
    if array.ndim != 1 or array.dtype.kind != "f":
        raise AudioFormatError(
            f"{what} expects 1-D float samples (mono, in [-1, 1]), got {array.dtype} with shape {array.shape}; "
            "convert with to_mono_float32 first"
        )
    return np.ascontiguousarray(array, dtype=np.float32)


def _clip(samples: npt.NDArray[np.float32]) -> FloatArray:
    clipped: FloatArray = np.clip(samples, -1.0, 1.0).astype(np.float32, copy=False)
    return clipped


def resample(samples: FloatArray, source_rate: int, target_rate: int) -> FloatArray:
    """Resample a whole mono signal with the filter :class:`StreamResampler` uses block by block.

    The result has ``round(len(samples) * target_rate / source_rate)`` samples; equal rates
    return ``samples`` unchanged.
    """
    source, target = _checked_rates(source_rate, target_rate)
    if source == target:
        return samples
    return _clip(soxr.resample(_mono_block(samples, "resample"), source, target, quality=_QUALITY))


class StreamResampler:
    """Resample one mono stream block by block, keeping the filter state between blocks.

    Blocks of any size give the same samples as :func:`resample` on the whole stream,
    so block boundaries leave no clicks. The filter looks ahead, so :meth:`process` holds
    back the newest samples (about 25-45 ms of output, 90 ms when upsampling from 8 kHz)
    and returns fewer than ``ratio * len(block)`` at first; :meth:`flush` returns that
    tail when the stream ends. Equal rates pass blocks through unchanged.
    """

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self._source_rate, self._target_rate = _checked_rates(source_rate, target_rate)
        self._stream: soxr.ResampleStream | None = None
        if self._source_rate != self._target_rate:
            self._stream = soxr.ResampleStream(
                self._source_rate, self._target_rate, 1, dtype="float32", quality=_QUALITY
            )

    @property
    def source_rate(self) -> int:
        """Sample rate of the blocks passed to :meth:`process`, in Hz."""
        return self._source_rate

    @property
    def target_rate(self) -> int:
        """Sample rate of the samples returned, in Hz."""
        return self._target_rate

    def process(self, samples: FloatArray) -> FloatArray:
        """Resample the next block of the stream; returns whatever output is ready (maybe none)."""
        block = _mono_block(samples, "StreamResampler.process")
        if self._stream is None:
            return block
        return _clip(self._stream.resample_chunk(block))

    def flush(self) -> FloatArray:
        """End the stream: return the held-back tail; the next :meth:`process` starts a new stream."""
        if self._stream is None:
            return np.zeros(0, dtype=np.float32)
        tail = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._stream.clear()
        return _clip(tail)


def to_session_audio(
    data: npt.ArrayLike,
    sample_rate: int,
    fmt: AudioFormat,
    *,
    allow_resample: bool = True,
) -> FloatArray:
    """Convert one piece of PCM to the session format (mono float32 at ``fmt.sample_rate``).

    For a stream cut into blocks use a :class:`StreamResampler`, which resamples without clicks.
    """
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
