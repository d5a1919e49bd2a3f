"""Ingest: source blocks in any PCM format become the session's fixed chunks, on stream time.

:class:`AudioIngest` is pure (no I/O, no clock): it repairs non-finite samples with
silence (counted, so stream time follows the samples that arrived and never shifts),
mixes to mono, resamples with filter state carried across blocks, and re-chunks.
The session paces the chunks it returns and puts them on its bounded queue.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from audiointeract.audio import AudioChunk, AudioFormat, FloatArray, Rechunker, StreamResampler, to_mono_float32
from audiointeract.errors import AudioFormatError

__all__ = ["AudioIngest"]


class AudioIngest:
    """Converts and re-chunks one stream; ``repaired`` counts non-finite samples replaced by silence."""

    def __init__(self, fmt: AudioFormat, *, allow_resample: bool = True) -> None:
        self._fmt = fmt
        self._allow_resample = allow_resample
        self._rechunker = Rechunker(fmt)
        self._resampler: StreamResampler | None = None
        self.repaired = 0

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
        mono = to_mono_float32(self._repaired(array))
        return self._rechunker.push(self._resample(mono, sample_rate))

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
