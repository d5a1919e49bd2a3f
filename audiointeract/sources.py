"""Audio sources: files, in-memory arrays, raw PCM streams and a microphone.

Sources yield blocks as they come; the session converts, re-chunks and paces them.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

import anyio
import anyio.lowlevel
import attrs
import numpy as np
import numpy.typing as npt

from audiointeract.audio import MAX_CHANNELS, FloatArray, check_frames, check_sample_rate
from audiointeract.devices import AudioDevice, find_device, load_sounddevice
from audiointeract.errors import AudioFormatError, BackendError, ConfigurationError
from audiointeract.interfaces import AudioSource, SourceProblem

__all__ = [
    "ArraySource",
    "FileSource",
    "InputStream",
    "InputStreamFactory",
    "MicrophoneSource",
    "MicrophoneStatistics",
    "PcmStreamSource",
]

_BLOCK_SECONDS = 0.5
_SHORT = 0.98
"""A file that decodes to less than this share of the frames its header declares is cut off."""
_STREAMING_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF)
"""WAV data sizes written by tools that did not know the length (a pipe): not a promise of more data."""


def _block_frames(block_seconds: float, sample_rate: int) -> int:
    if isinstance(block_seconds, bool) or not isinstance(block_seconds, int | float) or not (
        math.isfinite(block_seconds) and 0 < block_seconds <= 60
    ):
        raise ConfigurationError(f"block_seconds must be a number in (0, 60] s, got {block_seconds!r}")
    return max(1, round(block_seconds * sample_rate))


class ArraySource(AudioSource):
    """Audio already in memory (any PCM dtype, mono or (frames, channels))."""

    def __init__(self, samples: npt.ArrayLike, sample_rate: int, *, block_seconds: float = _BLOCK_SECONDS) -> None:
        self._samples = np.asarray(samples)
        if self._samples.ndim not in (1, 2) or self._samples.shape[0] == 0 or self._samples.size == 0:
            raise AudioFormatError(f"ArraySource needs a non-empty 1-D or 2-D array, got shape {self._samples.shape}")
        if self._samples.dtype.kind not in "iuf":
            raise AudioFormatError(f"ArraySource needs int or float samples, got dtype {self._samples.dtype}")
        check_frames(self._samples, "ArraySource")
        self._rate = check_sample_rate(sample_rate, "ArraySource sample_rate")
        self._block = _block_frames(block_seconds, self._rate)

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        for start in range(0, self._samples.shape[0], self._block):
            yield self._samples[start : start + self._block], self._rate


class FileSource(AudioSource):
    """A WAV/FLAC/OGG/MP3 file read block by block with soundfile.

    A file that is shorter than its header says (a WAV or MP3 cut off while it was
    written) is played up to where it ends, and said once as an ``InputWarning``
    (``"truncated_file"``). A file the decoder gives up on mid-way (corrupt, or a FLAC cut
    off) raises :class:`~audiointeract.errors.AudioFormatError` saying where; the session
    then ends with ``source failed: ...`` and keeps what was heard.
    """

    def __init__(self, path: str | Path, *, block_seconds: float = _BLOCK_SECONDS) -> None:
        import soundfile  # noqa: PLC0415 - only file sources need libsndfile

        self.path = Path(path)
        if self.path.is_dir():
            raise ConfigurationError(f"audio file {str(self.path)!r} is a directory; give an audio file in it")
        if not self.path.is_file():
            raise ConfigurationError(f"audio file {str(self.path)!r} does not exist")
        try:
            info = soundfile.info(str(self.path))
        except (RuntimeError, OSError) as exc:
            reason = " ".join(str(exc).split())
            raise AudioFormatError(f"cannot read {str(self.path)!r} as audio: {reason}") from exc
        self.sample_rate = check_sample_rate(info.samplerate, f"the sample rate in the header of {str(self.path)!r}")
        if not 1 <= info.channels <= MAX_CHANNELS:
            raise AudioFormatError(f"{str(self.path)!r} has {info.channels} channels; at most {MAX_CHANNELS} are read")
        self.duration = float(info.duration)
        self._block = _block_frames(block_seconds, self.sample_rate)
        self._problems = _truncation(self.path, self.duration)

    def problems(self) -> Sequence[SourceProblem]:
        found, self._problems = self._problems, []
        return found

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        import soundfile  # noqa: PLC0415

        frames = 0
        with soundfile.SoundFile(str(self.path)) as handle:
            declared = handle.frames
            while True:
                try:
                    block = handle.read(self._block, dtype="float32", always_2d=True)
                except RuntimeError as exc:  # libsndfile's decoders fail with their own words
                    reason = " ".join(str(exc).split())
                    raise AudioFormatError(
                        f"cannot decode {str(self.path)!r} after {frames / self.sample_rate:.2f} s of "
                        f"{self.duration:.2f} s: {reason} (the file is damaged or cut off)"
                    ) from exc
                if block.shape[0] == 0:
                    break
                frames += block.shape[0]
                yield block, self.sample_rate
            if not self._problems and declared > 0 and frames < declared * _SHORT:
                self._problems = _short(self.path, frames / self.sample_rate, self.duration)
                yield np.zeros((0, handle.channels), np.float32), self.sample_rate  # the session asks for problems


def _truncation(path: Path, seconds: float) -> list[SourceProblem]:
    """A ``truncated_file`` problem when a WAV's data chunk promises more bytes than the file holds."""
    sizes = _wav_data_sizes(path)
    if sizes is None:
        return []
    declared, present = sizes
    if declared in _STREAMING_SIZES or declared <= present or present <= 0:
        return []
    return _short(path, seconds, seconds * declared / present)


def _short(path: Path, seconds: float, expected: float) -> list[SourceProblem]:
    message = (
        f"{str(path)!r} is shorter than its header says: {seconds:.2f} s of {expected:.2f} s are there "
        "(the file was cut off?); playing what exists"
    )
    return [SourceProblem(code="truncated_file", message=message, count=1)]


def _wav_data_sizes(path: Path) -> tuple[int, int] | None:
    """``(declared, present)`` bytes of a RIFF/WAVE file's data chunk; None for other files."""
    total = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        position = 12
        while position + 8 <= total:
            handle.seek(position)
            chunk = handle.read(8)
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                return length, total - position - 8
            position += 8 + length + (length & 1)
    return None


class PcmStreamSource(AudioSource):
    """Raw little-endian PCM from a binary stream (e.g. stdin), read off the event loop."""

    def __init__(
        self, stream: BinaryIO, *, sample_rate: int, channels: int = 1, dtype: str = "int16",
        block_seconds: float = _BLOCK_SECONDS,
    ) -> None:
        if dtype not in ("int16", "int32", "float32"):
            raise ConfigurationError(f"raw PCM dtype must be int16, int32 or float32, got {dtype!r}")
        if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= MAX_CHANNELS:
            raise ConfigurationError(f"channels must be a whole number from 1 to {MAX_CHANNELS}, got {channels!r}")
        self._stream = stream
        self._rate = check_sample_rate(sample_rate, "raw PCM sample_rate")
        self._channels = channels
        self._dtype = np.dtype(dtype).newbyteorder("<")
        self._frame_bytes = self._dtype.itemsize * channels
        self._block_bytes = _block_frames(block_seconds, self._rate) * self._frame_bytes

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


# --------------------------------------------------------------------------- microphone


class InputStream(Protocol):
    """The part of an input stream :class:`MicrophoneSource` uses (``sounddevice.InputStream`` has it)."""

    def start(self) -> None:
        """Start calling back with audio."""

    def close(self) -> None:
        """Stop at once (pending audio is discarded) and release the device."""


class InputStreamFactory(Protocol):
    """Opens an input stream the way ``sounddevice.InputStream`` does (the seam a test's fake stream uses).

    The stream calls ``callback(indata, frames, time, status)`` from its own thread with
    ``indata`` a ``(frames, channels)`` float32 array it may reuse afterwards, and
    ``status.input_overflow`` true when the device dropped input; it calls
    ``finished_callback()`` once it has stopped, for whatever reason.
    """

    def __call__(
        self,
        *,
        device: int,
        samplerate: float,
        channels: int,
        dtype: str,
        blocksize: int,
        callback: Callable[[FloatArray, int, Any, Any], None],
        finished_callback: Callable[[], None],
    ) -> InputStream: ...


@attrs.frozen(kw_only=True)
class MicrophoneStatistics:
    """Running totals of a :class:`MicrophoneSource`.

    ``overruns`` are blocks dropped because the buffer between PortAudio and the event
    loop was full (the loop did not keep up); their audio became ``dropped_seconds`` of
    silence. ``input_overflows`` are callbacks where PortAudio said the device itself
    dropped input.
    """

    device: str
    sample_rate: int
    buffer_seconds: float
    blocks: int
    overruns: int
    dropped_seconds: float
    input_overflows: int
    max_buffered_seconds: float


def _call_soon_threadsafe() -> Callable[[Callable[[], None]], object]:
    """How another thread runs a function soon on the current event loop without waiting for it."""
    native = anyio.lowlevel.current_token().native_token
    if isinstance(native, asyncio.AbstractEventLoop):
        return native.call_soon_threadsafe
    run_sync_soon: Callable[[Callable[[], None]], object] = cast("Any", native).run_sync_soon  # trio's TrioToken
    return run_sync_soon


class _Handoff:
    """Blocks from the PortAudio thread to the event loop through a buffer of ``capacity`` blocks.

    The producer never waits: when the buffer is full the new block is dropped and its
    length remembered, so the consumer gets that much silence before the next block it
    kept. At most one wake-up is ever queued on the loop.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._items: deque[tuple[int, FloatArray]] = deque()
        self._gap = 0
        self._ended = False
        self._failure: str | None = None
        self._wake_queued = False
        self._ready = anyio.Event()
        self._call_soon = _call_soon_threadsafe()
        self.overruns = 0
        self.dropped_frames = 0
        self.max_depth = 0

    def put(self, block: FloatArray) -> None:
        """Hand over one block (any thread; returns at once)."""
        with self._lock:
            if self._ended:
                return
            if len(self._items) >= self._capacity:
                self.overruns += 1
                self.dropped_frames += block.shape[0]
                self._gap += block.shape[0]
                return
            self._items.append((self._gap, block))
            self._gap = 0
            self.max_depth = max(self.max_depth, len(self._items))
        self._wake()

    def end(self, failure: str | None = None) -> None:
        """No more blocks: the consumer drains what is buffered, then stops (raising ``failure`` if set)."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self._failure = failure
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            if self._wake_queued:
                return
            self._wake_queued = True
        try:
            self._call_soon(self._set_ready)
        except RuntimeError:  # the event loop is gone: nobody is left to take blocks
            with self._lock:
                self._ended = True

    def _set_ready(self) -> None:
        self._ready.set()

    async def get(self) -> tuple[int, FloatArray] | None:
        """The next ``(silent frames before it, block)``, or None once the stream ended (event loop only)."""
        while True:
            ready = self._ready = anyio.Event()
            with self._lock:
                if self._items:
                    return self._items.popleft()
                if self._ended:
                    if self._failure is not None:
                        raise BackendError(self._failure)
                    return None
                self._wake_queued = False
            await ready.wait()


class MicrophoneSource(AudioSource):
    """Live audio from a microphone, through PortAudio (``sounddevice``, extra ``audio-io``).

    ``device`` is an input device's index, name or part of a name (None: the system's
    default input); see :func:`audiointeract.devices.find_device`. ``sample_rate``
    defaults to the device's own rate (the session resamples).

    PortAudio calls back from its own thread every ``block_seconds``; the callback copies
    the block into a bounded buffer that holds ``buffer_seconds`` of audio and returns at
    once: it never waits on the event loop. When the loop does not keep up and the buffer
    is full, the new block is dropped and counted as an overrun, and the session gets
    silence of the same length in its place, so stream time stays the microphone's time.
    PortAudio's own input-overflow flags are counted too. The session reports the first
    of each kind as an :class:`~audiointeract.events.InputWarning`; :meth:`statistics`
    has the running totals. The microphone never ends by itself: stop the session.

    ``devices`` (the list to choose from; default: what PortAudio sees) and
    ``stream_factory`` (default: ``sounddevice.InputStream``) are the seams a test
    uses to run without a sound card.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        sample_rate: int | None = None,
        channels: int = 1,
        block_seconds: float = 0.05,
        buffer_seconds: float = 2.0,
        devices: Sequence[AudioDevice] | None = None,
        stream_factory: InputStreamFactory | None = None,
    ) -> None:
        if not (math.isfinite(block_seconds) and 0.001 <= block_seconds <= 1.0):
            raise ConfigurationError(f"block_seconds must be in [0.001, 1], got {block_seconds}")
        if not (math.isfinite(buffer_seconds) and buffer_seconds >= block_seconds):
            raise ConfigurationError(f"buffer_seconds must be >= block_seconds ({block_seconds}), got {buffer_seconds}")
        if sample_rate is not None:
            check_sample_rate(sample_rate, "microphone sample_rate")
        if stream_factory is None:
            stream_factory = cast("InputStreamFactory", load_sounddevice().InputStream)
        self.device = find_device(device, "input", devices)
        if not 1 <= channels <= self.device.input_channels:
            raise ConfigurationError(
                f"channels must be between 1 and {self.device.input_channels} for {self.device.name!r}, got {channels}"
            )
        self.sample_rate = sample_rate or round(self.device.default_sample_rate)
        self.channels = channels
        self.buffer_seconds = buffer_seconds
        self._factory = stream_factory
        self._blocksize = max(1, round(block_seconds * self.sample_rate))
        self._capacity = max(1, math.ceil(buffer_seconds / block_seconds))
        self._stream: InputStream | None = None
        self._handoff: _Handoff | None = None
        self._closing = False
        self._blocks = 0
        self._input_overflows = 0  # written by the PortAudio thread only
        self._reported: dict[str, int] = {}
        self._past = (0, 0, 0)  # overruns, dropped frames, max depth of handoffs already closed

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        self._open()
        handoff = self._handoff
        assert handoff is not None
        try:
            while (item := await handoff.get()) is not None:
                gap, block = item
                while gap > 0:  # dropped audio becomes silence, at most one buffer's worth at a time
                    piece = min(gap, self._blocksize * self._capacity)
                    gap -= piece
                    yield np.zeros((piece, self.channels), np.float32), self.sample_rate
                self._blocks += 1
                yield block, self.sample_rate
        finally:
            self._close()

    def problems(self) -> Sequence[SourceProblem]:
        stats = self.statistics()
        found = []
        for code, count, message in (
            (
                "microphone_overrun",
                stats.overruns,
                (
                    "the event loop did not keep up with the microphone: audio dropped "
                    f"({stats.dropped_seconds:.2f} s so far) and replaced by silence"
                ),
            ),
            (
                "microphone_input_overflow",
                stats.input_overflows,
                "the audio device reported input overflow: it dropped samples before they reached us",
            ),
        ):
            new = count - self._reported.get(code, 0)
            if new > 0:
                self._reported[code] = count
                found.append(SourceProblem(code=code, message=message, count=new))
        return found

    def statistics(self) -> MicrophoneStatistics:
        """Blocks taken, overruns, dropped audio and input overflows so far."""
        overruns, dropped, depth = self._past
        if self._handoff is not None:
            overruns += self._handoff.overruns
            dropped += self._handoff.dropped_frames
            depth = max(depth, self._handoff.max_depth)
        block = self._blocksize / self.sample_rate
        return MicrophoneStatistics(
            device=self.device.name,
            sample_rate=self.sample_rate,
            buffer_seconds=self._capacity * block,
            blocks=self._blocks,
            overruns=overruns,
            dropped_seconds=dropped / self.sample_rate,
            input_overflows=self._input_overflows,
            max_buffered_seconds=depth * block,
        )

    async def aclose(self) -> None:
        self._close()

    def _open(self) -> None:
        if self._stream is not None:
            msg = "this MicrophoneSource is already streaming"
            raise RuntimeError(msg)
        self._handoff = handoff = _Handoff(self._capacity)
        self._closing = False

        def callback(indata: FloatArray, frames: int, _time: Any, status: Any) -> None:
            if status is not None and getattr(status, "input_overflow", False):
                self._input_overflows += 1
            handoff.put(np.array(indata[:frames], dtype=np.float32))  # PortAudio reuses indata: copy

        def finished() -> None:
            handoff.end(None if self._closing else f"the microphone stream of {self.device.name!r} stopped by itself")

        try:
            self._stream = self._factory(
                device=self.device.index,
                samplerate=self.sample_rate,
                channels=self.channels,
                dtype="float32",
                blocksize=self._blocksize,
                callback=callback,
                finished_callback=finished,
            )
            self._stream.start()
        except Exception as exc:
            self._close()
            raise ConfigurationError(
                f"cannot open microphone {self.device.describe()} at {self.sample_rate} Hz, "
                f"{self.channels} channel(s): {exc}"
            ) from exc

    def _close(self) -> None:
        """Stop the device and forget what is buffered (idempotent)."""
        self._closing = True
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        if self._handoff is not None:
            handoff, self._handoff = self._handoff, None
            handoff.end()
            overruns, dropped, depth = self._past
            self._past = (overruns + handoff.overruns, dropped + handoff.dropped_frames, max(depth, handoff.max_depth))
