"""Audio a client pushes over a connection, as a session's :class:`~audiointeract.interfaces.AudioSource`.

:class:`PushSource` is fed by the connection (``push``, which never blocks) and read by
the session at real-time pace. It is bounded: at most ``max_buffered`` seconds wait to be
heard, and a client that sends faster than real time loses the oldest waiting audio,
counted. It keeps a live session live: when no audio has arrived for ``fill_after``
seconds it yields that much silence, so time passes for the session as it does for the
client (decisions, proactive replies and cancels go on while the client sends nothing).

:class:`Timeline` maps the session's stream time back to the client's own audio time
across the silence inserted and the audio dropped, so events can report the milliseconds
of audio the *client* sent (``audio_start_ms``, ``audio_end_ms``).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import AsyncIterator

import anyio
import attrs
import numpy as np
import numpy.typing as npt

from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import ConfigurationError
from audiointeract.interfaces import AudioSource

__all__ = ["PcmBlock", "PushSource", "PushStatistics", "Timeline"]

PcmBlock = npt.NDArray[np.int16]
_EPS = 1e-9


@attrs.frozen
class _Segment:
    stream_start: float
    client_start: float
    seconds: float
    silent: bool
    """Silence the client never sent: client time stands still across it."""

    @property
    def client_end(self) -> float:
        return self.client_start if self.silent else self.client_start + self.seconds

    def continues(self, other: _Segment) -> bool:
        """Whether ``other`` follows this segment seamlessly (one segment can hold both)."""
        return (
            other.silent == self.silent
            and math.isclose(other.stream_start, self.stream_start + self.seconds, abs_tol=1e-6)
            and math.isclose(other.client_start, self.client_end, abs_tol=1e-6)
        )


class Timeline:
    """Stream time (what the session heard) to client time (what the client sent), in seconds.

    Segments are recorded in stream order as the session takes audio; between them the
    client's time may jump ahead (audio dropped or cleared) and inside a silent segment it
    stands still (silence the server inserted).
    """

    def __init__(self) -> None:
        self._segments: list[_Segment] = []
        self._starts: list[float] = []

    def record(self, stream_start: float, client_start: float, seconds: float, *, silent: bool) -> None:
        """The session heard ``seconds`` from ``stream_start``: client audio from ``client_start``, or silence."""
        if seconds <= 0:
            return
        segment = _Segment(stream_start=stream_start, client_start=client_start, seconds=seconds, silent=silent)
        if self._segments and self._segments[-1].continues(segment):
            last = self._segments[-1]
            self._segments[-1] = attrs.evolve(last, seconds=last.seconds + seconds)
            return
        self._segments.append(segment)
        self._starts.append(stream_start)

    def client_time(self, stream: float) -> float:
        """The client's audio time at stream time ``stream`` (the end of a segment maps to its end)."""
        if not self._segments:
            return stream
        index = max(0, bisect.bisect_left(self._starts, stream - _EPS) - 1)
        segment = self._segments[index]
        if segment.silent:
            return segment.client_start
        return segment.client_start + (stream - segment.stream_start)


@attrs.frozen(kw_only=True)
class PushStatistics:
    """Seconds of audio received from the client, dropped, filled with silence, and waiting now."""

    received: float
    dropped: float
    filled: float
    buffered: float


@attrs.define
class _Pending:
    samples: PcmBlock
    rate: int
    client_start: float
    silent: bool

    @property
    def seconds(self) -> float:
        return self.samples.size / self.rate


class PushSource(AudioSource):
    """Int16 PCM pushed by a connection; bounded, gap-filled, taken by the session at its own pace.

    ``max_buffered`` bounds the seconds of audio waiting to be heard (the oldest is dropped
    past it). ``fill_after`` (None: never) is how long the source waits for audio before it
    yields that much silence. Waiting blocks of one rate are handed out as one block.
    """

    def __init__(
        self, *, max_buffered: float = 10.0, fill_after: float | None = 1.0, clock: Clock | None = None
    ) -> None:
        if not (math.isfinite(max_buffered) and max_buffered > 0):
            raise ConfigurationError(f"max_buffered must be > 0 seconds, got {max_buffered}")
        if fill_after is not None and not (math.isfinite(fill_after) and fill_after > 0):
            raise ConfigurationError(f"fill_after must be > 0 seconds (or None), got {fill_after}")
        self._max_buffered = max_buffered
        self._fill_after = fill_after
        self._clock = clock or LoopClock()
        self._queue: deque[_Pending] = deque()
        self._queued = 0.0
        self._position = 0.0  # stream seconds handed to the session
        self._client_end = 0.0  # client seconds pushed
        self._rate = 24000
        self._closed = False
        self._wakeup = anyio.Event()
        self._dropped = 0.0
        self._filled = 0.0
        self.timeline = Timeline()

    @property
    def end_time(self) -> float:
        """Stream time at the end of everything taken or waiting."""
        return self._position + self._queued

    def statistics(self) -> PushStatistics:
        """What the source has received, dropped and filled so far."""
        return PushStatistics(received=self._client_end, dropped=self._dropped, filled=self._filled,
                              buffered=self._queued)

    def push(self, samples: PcmBlock, sample_rate: int) -> float:
        """Queue client audio; return the seconds of waiting audio dropped to stay within ``max_buffered``."""
        if self._closed or samples.size == 0:
            return 0.0
        self._append(_Pending(samples, sample_rate, self._client_end, silent=False))
        self._client_end += samples.size / sample_rate
        dropped = 0.0
        while self._queued > self._max_buffered + _EPS:
            dropped += self._drop_oldest(self._queued - self._max_buffered)
        self._dropped += dropped
        return dropped

    def pad_to(self, boundary: float, extra: float = 0.0) -> float:
        """Append silence up to the next multiple of ``boundary`` seconds, plus ``extra``; return the new end."""
        end = self.end_time
        target = math.ceil(end / boundary - 1e-6) * boundary + extra
        samples = math.ceil((target - end) * self._rate - 1e-6)
        if samples > 0 and not self._closed:
            self._append(_Pending(np.zeros(samples, dtype=np.int16), self._rate, self._client_end, silent=True))
        return self.end_time

    def clear(self) -> float:
        """Drop the client audio still waiting (``input_audio_buffer.clear``); return the seconds dropped."""
        dropped = sum(item.seconds for item in self._queue if not item.silent)
        self._queue.clear()
        self._queued = 0.0
        self._dropped += dropped
        return dropped

    def close(self) -> None:
        """No more audio: the session hears what is waiting, then its input ends."""
        self._closed = True
        self._wakeup.set()

    async def blocks(self) -> AsyncIterator[tuple[PcmBlock, int]]:
        while True:
            if self._queue:
                yield self._take()
                continue
            if self._closed:
                return
            self._wakeup = anyio.Event()
            if self._fill_after is None:
                await self._wakeup.wait()
                continue
            try:
                with self._clock.deadline_scope(self._fill_after):
                    await self._wakeup.wait()
            except TimeoutError:
                yield self._silence(self._fill_after)

    async def aclose(self) -> None:
        self.close()

    def _append(self, item: _Pending) -> None:
        self._queue.append(item)
        self._queued += item.seconds
        self._rate = item.rate
        self._wakeup.set()

    def _take(self) -> tuple[PcmBlock, int]:
        """Everything waiting at the first block's rate, as one block."""
        rate = self._queue[0].rate
        parts: list[_Pending] = []
        while self._queue and self._queue[0].rate == rate:
            parts.append(self._queue.popleft())
        for part in parts:
            self.timeline.record(self._position, part.client_start, part.seconds, silent=part.silent)
            self._position += part.seconds
            self._queued -= part.seconds
        self._queued = max(0.0, self._queued) if self._queue else 0.0
        block = np.concatenate([part.samples for part in parts]) if len(parts) > 1 else parts[0].samples
        return block, rate

    def _drop_oldest(self, excess: float) -> float:
        head = self._queue[0]
        cut = min(head.samples.size, math.ceil(excess * head.rate - 1e-6))
        if cut >= head.samples.size:
            self._queue.popleft()
        else:
            offset = 0.0 if head.silent else cut / head.rate
            self._queue[0] = _Pending(head.samples[cut:], head.rate, head.client_start + offset, head.silent)
        self._queued -= cut / head.rate
        return 0.0 if head.silent else cut / head.rate

    def _silence(self, seconds: float) -> tuple[PcmBlock, int]:
        samples = round(seconds * self._rate)
        self.timeline.record(self._position, self._client_end, samples / self._rate, silent=True)
        self._filled += samples / self._rate
        self._position += samples / self._rate
        return np.zeros(samples, dtype=np.int16), self._rate
