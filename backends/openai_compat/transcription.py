"""ASR over an OpenAI-compatible ``/audio/transcriptions`` server (vLLM Whisper, hosted APIs).

Audio is cut into segments, either by a VAD perceiver (each speech segment, from its
start to its end) or into fixed windows, and each segment is sent as a WAV file.
Each transcribed segment becomes one :class:`TranscriptUpdate` with committed text.
Streamed answers are read in both wire forms: vLLM's chat-like
``transcription.chunk`` events and OpenAI's ``transcript.text.delta``/``.done``.

While the server fails, the audio that waits for it stays bounded: a failed segment
gets one more try, then it is dropped, counted and named in the error raised.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from typing import Any

import attrs
import httpx
import numpy as np

from audiointeract.audio import AudioChunk, FloatArray
from audiointeract.backends.openai_compat import _options
from audiointeract.backends.openai_compat._client import OpenAICompatClient, client_from_options
from audiointeract.backends.openai_compat._sse import is_event_stream, sse_json
from audiointeract.backends.openai_compat._wav import wav_bytes
from audiointeract.errors import BackendError, BackendTimeout, ConfigurationError
from audiointeract.events import Perception, SpeechActivity, TranscriptUpdate
from audiointeract.interfaces import Perceiver
from audiointeract.registry import load_backend

__all__ = ["TranscriptionPerceiver", "TranscriptionStatistics", "transcript_text"]

PATH = "audio/transcriptions"
_EPS = 1e-9


async def transcript_text(client: OpenAICompatClient, response: httpx.Response) -> str:
    """The text of a transcription response: JSON, or SSE in the vLLM or the OpenAI form."""
    if not is_event_stream(response):
        payload = await client.read_json(response, PATH)
        return str(payload.get("text", ""))
    pieces: list[str] = []
    async for event in sse_json(client, response, PATH):
        kind = event.get("type")
        if kind == "transcript.text.done":
            return str(event.get("text", "".join(pieces)))
        if kind == "transcript.text.delta":
            pieces.append(str(event.get("delta", "")))
        pieces.extend(str((choice.get("delta") or {}).get("content") or "") for choice in event.get("choices") or ())
    return "".join(pieces)


@attrs.frozen(kw_only=True)
class TranscriptionStatistics:
    """What became of the segments a :class:`TranscriptionPerceiver` cut (counts since it was built)."""

    segments_transcribed: int = 0
    """Segments the server answered (with text or without)."""
    requests_failed: int = 0
    """Requests that failed or were cancelled; each failure was raised as a BackendError."""
    segments_dropped: int = 0
    """Segments given up on: their audio was never transcribed."""
    seconds_dropped: float = 0.0
    """The audio of the dropped segments, in seconds."""
    seconds_waiting: float = 0.0
    """Audio cut into segments that still wait for the server now (at most about ``max_segment``)."""


@attrs.frozen(kw_only=True)
class _Segment:
    """Audio cut out for one request, and how many of its requests failed so far."""

    start: float
    end: float
    samples: FloatArray = attrs.field(eq=False, repr=False)
    failures: int = 0

    @property
    def seconds(self) -> float:
        return self.end - self.start


def _vad(value: Perceiver | str | None) -> Perceiver | None:
    if value is None or isinstance(value, Perceiver):
        return value
    if isinstance(value, str):
        vad: Perceiver = load_backend("perceiver", value)
        return vad
    raise ConfigurationError(f"vad must be a Perceiver or a perceiver name such as 'energy', got {value!r}")


class TranscriptionPerceiver(Perceiver):
    """Committed transcripts of VAD-delimited speech segments or fixed windows.

    With ``vad`` (any perceiver that reports :class:`SpeechActivity`, e.g. silero or
    the energy perceiver, or its registry name such as ``"energy"``), a segment runs
    from speech start (minus ``preroll``) to speech end and is also cut every
    ``max_segment`` seconds; the VAD's perceptions are passed through. Without it,
    every ``window`` seconds is transcribed, except windows quieter than ``silence_db``
    dBFS (Whisper invents text on silence). Segments shorter than ``min_segment`` are
    not sent. ``stream`` asks the server to stream its answer. Server options are
    :class:`ServerConfig` fields.

    Cut segments wait in order for the server. A request that fails with a retryable
    error keeps its segment for one more try (at the next call: the session's retry
    of this chunk, or the next chunk); a second failure, or a failure that is not
    retryable, drops it. Waiting audio beyond ``max_segment`` seconds is dropped too,
    oldest first. Each failure raises a BackendError that says what was dropped and
    why; :meth:`statistics` counts it. Perceptions found before a failure are
    returned by the next call.
    """

    name = "vllm"

    def __init__(
        self,
        *,
        vad: Perceiver | str | None = None,
        window: float = 5.0,
        preroll: float = 0.3,
        max_segment: float = 20.0,
        min_segment: float = 0.3,
        silence_db: float | None = -50.0,
        stream: bool = False,
        language: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **server: Any,
    ) -> None:
        self._window = _options.number("window", window, positive=True)
        self._preroll = _options.number("preroll", preroll, minimum=0.0)
        self._max_segment = _options.number("max_segment", max_segment, positive=True)
        self._min_segment = _options.number("min_segment", min_segment, minimum=0.0)
        self._silence_db = None if silence_db is None else _options.number("silence_db", silence_db)
        self.stream = _options.flag("stream", stream)
        self.language = _options.optional_text("language", language)
        self._client = client_from_options(server, backend=TranscriptionPerceiver, transport=transport)
        self._vad = _vad(vad)
        self._rate = 0
        self._buffer: list[FloatArray] = []
        self._buffer_start = 0.0
        self._heard = 0.0
        self._segment_start: float | None = None
        self._last_chunk: AudioChunk | None = None
        self._flushed = False
        self._waiting: collections.deque[_Segment] = collections.deque()
        self._ready: list[Perception] = []
        self._statistics = TranscriptionStatistics()

    @property
    def client(self) -> OpenAICompatClient:
        """The HTTP client."""
        return self._client

    def statistics(self) -> TranscriptionStatistics:
        """What became of the segments so far: transcribed, failed requests, dropped and waiting audio."""
        return attrs.evolve(self._statistics, seconds_waiting=sum(s.seconds for s in self._waiting))

    async def check(self) -> None:
        """Reach the server (``GET /models``) and resolve the model now; raise a one-line error if it is not usable."""
        await self._client.check()

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        """Buffer the chunk; transcribe the segments that are due.

        The same chunk given again (a retry of a call that failed) is not buffered
        twice: the call only sends what still waits.
        """
        if chunk is not self._last_chunk:
            await self._take(chunk)
            self._last_chunk = chunk
        await self._send_waiting()
        return self._hand_over()

    async def finish(self) -> Sequence[Perception]:
        """Transcribe what is still open at the end of the stream (a segment or a partial window)."""
        if not self._flushed:
            if self._vad is not None:
                self._ready += await self._vad.finish()
            start = self._segment_start if self._vad is not None else self._buffer_start
            if start is not None and self._buffer:
                self._cut(start, self._heard)
            self._buffer = []
            self._segment_start = None
            self._flushed = True  # a retried finish() only sends what still waits
        await self._send_waiting()
        return self._hand_over()

    async def reset(self) -> None:
        """Forget buffered audio, the open segment, waiting segments and unreturned perceptions."""
        self._buffer = []
        self._buffer_start = 0.0
        self._heard = 0.0
        self._segment_start = None
        self._last_chunk = None
        self._flushed = False
        self._waiting.clear()
        self._ready = []
        if self._vad is not None:
            await self._vad.reset()

    async def aclose(self) -> None:
        """Close the connection pool (and the VAD)."""
        await self._client.aclose()
        if self._vad is not None:
            await self._vad.aclose()

    async def _take(self, chunk: AudioChunk) -> None:
        """Buffer ``chunk`` and cut the segments it completes into the waiting queue."""
        found = list(await self._vad.perceive(chunk)) if self._vad is not None else []
        if not self._buffer:
            self._buffer_start = chunk.start_time
        self._rate = chunk.sample_rate
        self._buffer.append(chunk.samples)
        self._heard = chunk.end_time
        self._flushed = False
        if self._vad is None:
            if self._heard - self._buffer_start >= self._window - _EPS:
                self._cut(self._buffer_start, self._heard)
                self._buffer = []
            return
        for perception in found:
            self._ready.append(perception)
            if not isinstance(perception, SpeechActivity):
                continue
            if perception.speaking and self._segment_start is None:
                self._segment_start = max(self._buffer_start, perception.span_start - self._preroll)
            elif not perception.speaking and self._segment_start is not None:
                self._cut(self._segment_start, perception.span_end)
                self._segment_start = None
        if self._segment_start is not None and self._heard - self._segment_start >= self._max_segment:
            self._cut(self._segment_start, self._heard)
            self._segment_start = self._heard
        self._trim()

    def _cut(self, start: float, end: float) -> None:
        samples = self._audio(start, end)
        if samples.size < self._min_segment * self._rate or self._too_quiet(samples):
            return
        self._waiting.append(_Segment(start=start, end=end, samples=samples))

    async def _send_waiting(self) -> None:
        """Transcribe the waiting segments in order; on a failure, keep or drop (bounded) and raise."""
        while self._waiting:
            segment = self._waiting[0]
            try:
                text = (await self._request(segment.samples)).strip()
            except Exception as exc:
                raise self._failed(exc) from exc
            except BaseException:  # cancelled, e.g. by the caller's deadline: a failed try all the same
                self._failed(None)
                raise
            self._waiting.popleft()
            self._statistics = attrs.evolve(
                self._statistics, segments_transcribed=self._statistics.segments_transcribed + 1
            )
            if text:
                self._ready.append(
                    TranscriptUpdate(span_start=segment.start, span_end=segment.end, committed=text, source=self.name)
                )

    def _failed(self, exc: Exception | None) -> BackendError:
        """Book the failed request of the first waiting segment; the error to raise says what became of it."""
        head = self._waiting.popleft()
        retryable = exc is None or bool(getattr(exc, "retryable", False))
        dropped: list[_Segment] = []
        reasons: list[str] = []
        message = f"could not transcribe {head.start:.2f}-{head.end:.2f} s: {exc}"
        if retryable and head.failures == 0:
            self._waiting.appendleft(attrs.evolve(head, failures=1))
            message += "; kept for one more try"
        else:
            dropped.append(head)
            reasons.append("it failed twice" if retryable else "the error is not retryable")
        over = len(dropped)
        while len(self._waiting) > 1 and sum(s.seconds for s in self._waiting) > self._max_segment + _EPS:
            dropped.append(self._waiting.popleft())
        if len(dropped) > over:
            reasons.append(f"more than max_segment={self._max_segment:g} s of audio waited for the server")
        seconds = sum(s.seconds for s in dropped)
        self._statistics = attrs.evolve(
            self._statistics,
            requests_failed=self._statistics.requests_failed + 1,
            segments_dropped=self._statistics.segments_dropped + len(dropped),
            seconds_dropped=self._statistics.seconds_dropped + seconds,
        )
        if dropped:
            first, last = min(s.start for s in dropped), max(s.end for s in dropped)
            message += (
                f"; dropped {seconds:.2f} s of audio in {len(dropped)} segment(s) between {first:.2f} and "
                f"{last:.2f} s untranscribed because {' and '.join(reasons)}"
            )
        kind = BackendTimeout if isinstance(exc, TimeoutError) else BackendError
        return kind(message, retryable=retryable and bool(self._waiting))

    def _hand_over(self) -> list[Perception]:
        ready, self._ready = self._ready, []
        return ready

    def _audio(self, start: float, end: float) -> FloatArray:
        samples = np.concatenate(self._buffer)
        first = max(0, round((start - self._buffer_start) * self._rate))
        last = max(first, round((end - self._buffer_start) * self._rate))
        return samples[first:last].copy()

    def _trim(self) -> None:
        keep_from = self._segment_start if self._segment_start is not None else self._heard - self._preroll
        samples = np.concatenate(self._buffer)
        drop = min(samples.size, max(0, round((keep_from - self._buffer_start) * self._rate)))
        if drop:
            self._buffer = [samples[drop:]] if drop < samples.size else []
            self._buffer_start += drop / self._rate

    def _too_quiet(self, samples: FloatArray) -> bool:
        if self._silence_db is None or self._vad is not None:
            return False
        rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
        return 20 * math.log10(rms + 1e-12) < self._silence_db

    async def _request(self, samples: FloatArray) -> str:
        form = {"model": await self._client.model_name(), "response_format": "json"}
        if self.stream:
            form["stream"] = "true"
        if self.language:
            form["language"] = self.language
        files = {"file": ("audio.wav", wav_bytes(samples, self._rate), "audio/wav")}
        async with self._client.stream(PATH, data=form, files=files) as response:
            return await transcript_text(self._client, response)
