"""Ingest: source blocks in any PCM format become the session's fixed chunks, on stream time.

:class:`AudioIngest` is pure (no I/O, no clock): it repairs non-finite samples with
silence (counted, so stream time follows the samples that arrived and never shifts),
mixes to mono, resamples with filter state carried across blocks, and re-chunks.
It also notices input that is likely read with the wrong sample type (float32 bytes
read as integers, integer-scaled or integer bytes read as floats) and says so once
through :meth:`AudioIngest.problems`. The session paces the chunks it returns and puts
them on its bounded queue.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from audiointeract.audio import (
    AudioChunk,
    AudioFormat,
    FloatArray,
    Rechunker,
    StreamResampler,
    check_frames,
    check_sample_rate,
    to_mono_float32,
)
from audiointeract.errors import AudioFormatError
from audiointeract.interfaces import SourceProblem

__all__ = ["AudioIngest"]

_MIN_EVIDENCE = 256
"""Non-zero samples a block needs before its sample type is judged."""
_FLOAT_BITS_SHARE = 0.95
"""Share of an integer block's 4-byte words that must read as audio-range float32 to call it float data."""
_LOUD_SHARE = 0.01
"""Share of a float block's samples beyond +-2 that calls it integer-scaled (or integer bytes)."""


class AudioIngest:
    """Converts and re-chunks one stream; ``repaired`` counts non-finite samples replaced by silence."""

    def __init__(self, fmt: AudioFormat, *, allow_resample: bool = True) -> None:
        self._fmt = fmt
        self._allow_resample = allow_resample
        self._rechunker = Rechunker(fmt)
        self._resampler: StreamResampler | None = None
        self.repaired = 0
        self._problems: list[SourceProblem] = []
        self._noticed: set[str] = set()

    @property
    def samples_emitted(self) -> int:
        """Session-rate samples handed out in chunks so far."""
        return self._rechunker.samples_emitted

    def push(self, data: npt.ArrayLike, sample_rate: int) -> list[AudioChunk]:
        """Convert one source block; return the chunks it completes.

        Raises :class:`~audiointeract.errors.AudioFormatError` for a block that cannot
        be used at all (wrong shape, dtype, rate); nothing of it is taken then.
        """
        array = np.asarray(data)
        if array.size == 0 and array.ndim in (1, 2):
            return []  # an empty read (a live source with nothing new) is not an error
        rate = check_sample_rate(sample_rate, "the block's sample rate")
        check_frames(array, "the session")
        self._check_sample_type(array)
        mono = to_mono_float32(self._repaired(array))
        return self._rechunker.push(self._resample(mono, rate))

    def problems(self) -> list[SourceProblem]:
        """Input problems noticed since the last call (each kind once per stream)."""
        found, self._problems = self._problems, []
        return found

    def flush(self) -> list[AudioChunk]:
        """End of the stream: the resampler's tail and the last partial chunk (zero-padded)."""
        tail = self._resampler.flush() if self._resampler is not None else np.zeros(0, np.float32)
        return [*self._rechunker.push(tail), *self._rechunker.flush()]

    def _repaired(self, array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        if array.dtype.kind != "f":
            return array
        bad = ~np.isfinite(array)
        count = int(np.count_nonzero(bad))
        if not count:
            return array
        self.repaired += count
        fixed = array.copy()
        fixed[bad] = 0.0
        return fixed

    def _check_sample_type(self, array: npt.NDArray[np.generic]) -> None:
        if array.dtype.kind == "i" and "pcm_dtype_mismatch" not in self._noticed and _float_bits(array):
            self._notice(
                "pcm_dtype_mismatch",
                f"{array.dtype} samples whose bytes read as audio-range float32: the input is likely float32 "
                "read as integers (raw PCM: pass --dtype float32, or PcmStreamSource(dtype='float32'))",
            )
        elif array.dtype.kind == "f" and "float_level" not in self._noticed:
            loud = _loud_samples(array)
            if loud:
                self._notice(
                    "float_level",
                    f"{loud} float sample(s) far beyond [-1, 1] were clipped: the input is likely integer-scaled "
                    "floats (divide by 32768) or integer PCM read as float32 (raw PCM: pass --dtype int16)",
                    loud,
                )

    def _notice(self, code: str, message: str, count: int = 1) -> None:
        self._noticed.add(code)
        self._problems.append(SourceProblem(code=code, message=message, count=count))

    def _resample(self, mono: FloatArray, sample_rate: int) -> FloatArray:
        if sample_rate == self._fmt.sample_rate and self._resampler is None:
            return mono
        if sample_rate != self._fmt.sample_rate and not self._allow_resample:
            raise AudioFormatError(
                f"audio is at {sample_rate} Hz but the session expects {self._fmt.sample_rate} Hz "
                "and resampling is not allowed"
            )
        if self._resampler is None or self._resampler.source_rate != sample_rate:
            # a source that changes its rate mid-stream: finish the old filter, start a new one
            head = self._resampler.flush() if self._resampler is not None else np.zeros(0, np.float32)
            self._resampler = StreamResampler(sample_rate, self._fmt.sample_rate)
            return np.concatenate([head, self._resampler.process(mono)])
        return self._resampler.process(mono)


def _float_bits(array: npt.NDArray[np.generic]) -> bool:
    """Whether an integer block's bytes are nearly all float32 values in audio range (float data misread)."""
    raw = np.ascontiguousarray(array).tobytes()
    words = np.frombuffer(raw[: len(raw) - len(raw) % 4], dtype="<f4")
    words = words[words != 0]
    if words.size < _MIN_EVIDENCE:
        return False
    with np.errstate(invalid="ignore"):
        size = np.abs(words)
        plausible = np.isfinite(words) & (size <= 1.0) & (size >= 1e-7)
    return float(np.mean(plausible)) >= _FLOAT_BITS_SHARE


def _loud_samples(array: npt.NDArray[np.generic]) -> int:
    """Finite samples beyond +-2 when they are a telling share of a float block, else 0."""
    with np.errstate(invalid="ignore"):
        size = np.abs(array)
        loud = int(np.count_nonzero(np.isfinite(size) & (size > 2.0)))
    return loud if array.size >= _MIN_EVIDENCE and loud >= _LOUD_SHARE * array.size else 0
