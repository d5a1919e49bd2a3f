"""Audio sources: files, in-memory arrays and raw PCM streams.

Sources yield blocks as they come; the session converts, re-chunks and paces them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio
import numpy as np
import numpy.typing as npt

from audiointeract.errors import AudioFormatError, ConfigurationError
from audiointeract.interfaces import AudioSource

__all__ = ["ArraySource", "FileSource", "PcmStreamSource"]

_BLOCK_SECONDS = 0.5


class ArraySource(AudioSource):
    """Audio already in memory (any PCM dtype, mono or (frames, channels))."""

    def __init__(self, samples: npt.ArrayLike, sample_rate: int, *, block_seconds: float = _BLOCK_SECONDS) -> None:
        self._samples = np.asarray(samples)
        if self._samples.ndim not in (1, 2) or self._samples.shape[0] == 0:
            raise AudioFormatError(f"ArraySource needs a non-empty 1-D or 2-D array, got shape {self._samples.shape}")
        self._rate = sample_rate
        self._block = max(1, round(block_seconds * sample_rate))

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        for start in range(0, self._samples.shape[0], self._block):
            yield self._samples[start : start + self._block], self._rate


class FileSource(AudioSource):
    """A WAV/FLAC/OGG/MP3 file read block by block with soundfile."""

    def __init__(self, path: str | Path, *, block_seconds: float = _BLOCK_SECONDS) -> None:
        import soundfile  # noqa: PLC0415 - only file sources need libsndfile

        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigurationError(f"audio file {str(self.path)!r} does not exist")
        try:
            info = soundfile.info(str(self.path))
        except RuntimeError as exc:
            raise AudioFormatError(f"cannot read {str(self.path)!r} as audio: {exc}") from exc
        self.sample_rate = int(info.samplerate)
        self.duration = float(info.duration)
        self._block = max(1, round(block_seconds * self.sample_rate))

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        import soundfile  # noqa: PLC0415

        with soundfile.SoundFile(str(self.path)) as handle:
            while True:
                block = handle.read(self._block, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    return
                yield block, self.sample_rate


class PcmStreamSource(AudioSource):
    """Raw little-endian PCM from a binary stream (e.g. stdin), read off the event loop."""

    def __init__(
        self, stream: BinaryIO, *, sample_rate: int, channels: int = 1, dtype: str = "int16",
        block_seconds: float = _BLOCK_SECONDS,
    ) -> None:
        if dtype not in ("int16", "int32", "float32"):
            raise ConfigurationError(f"raw PCM dtype must be int16, int32 or float32, got {dtype!r}")
        if channels < 1:
            raise ConfigurationError(f"channels must be >= 1, got {channels}")
        self._stream = stream
        self._rate = sample_rate
        self._channels = channels
        self._dtype = np.dtype(dtype).newbyteorder("<")
        self._frame_bytes = self._dtype.itemsize * channels
        self._block_bytes = max(1, round(block_seconds * sample_rate)) * self._frame_bytes

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        leftover = b""
        while True:
            data = await anyio.to_thread.run_sync(self._stream.read, self._block_bytes)
            if not data:
                return
            data = leftover + data
            usable = len(data) - len(data) % self._frame_bytes
            leftover = data[usable:]
            if usable:
                frames = np.frombuffer(data[:usable], dtype=self._dtype).reshape(-1, self._channels)
                yield frames, self._rate
