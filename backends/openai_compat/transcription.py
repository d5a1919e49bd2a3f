"""ASR over an OpenAI-compatible ``/audio/transcriptions`` server (vLLM Whisper, hosted APIs).

Audio is cut into segments, either by a VAD perceiver (each speech segment, from its
start to its end) or into fixed windows, and each segment is sent as a WAV file.
Each transcribed segment becomes one :class:`TranscriptUpdate` with committed text.
Streamed answers are read in both wire forms: vLLM's chat-like
``transcription.chunk`` events and OpenAI's ``transcript.text.delta``/``.done``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from audiointeract.audio import AudioChunk, FloatArray
from audiointeract.backends.openai_compat._client import OpenAICompatClient, client_from_options
from audiointeract.backends.openai_compat._sse import sse_json
from audiointeract.backends.openai_compat._wav import wav_bytes
from audiointeract.clock import Clock
from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception, SpeechActivity, TranscriptUpdate
from audiointeract.interfaces import Perceiver

__all__ = ["TranscriptionPerceiver", "transcript_text"]

PATH = "audio/transcriptions"


async def transcript_text(client: OpenAICompatClient, response: httpx.Response) -> str:
    """The text of a transcription response: JSON, or SSE in the vLLM or the OpenAI form."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
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


class TranscriptionPerceiver(Perceiver):
    """Committed transcripts of VAD-delimited speech segments or fixed windows.

    With ``vad`` (any perceiver that reports :class:`SpeechActivity`, e.g. silero or
    the energy perceiver), a segment runs from speech start (minus ``preroll``) to
    speech end and is also cut every ``max_segment`` seconds; the VAD's perceptions
    are passed through. Without it, every ``window`` seconds is transcribed, except
    windows quieter than ``silence_db`` dBFS (Whisper invents text on silence).
    Segments shorter than ``min_segment`` are not sent. ``stream`` asks the server
    to stream its answer. Server options are :class:`ServerConfig` fields.
    """

    name = "vllm"

    def __init__(
        self,
        *,
        vad: Perceiver | None = None,
        window: float = 5.0,
        preroll: float = 0.3,
        max_segment: float = 20.0,
        min_segment: float = 0.3,
        silence_db: float | None = -50.0,
        stream: bool = False,
        language: str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **server: Any,
    ) -> None:
        if not (window > 0 and max_segment > 0 and preroll >= 0 and min_segment >= 0):
            raise ConfigurationError("window and max_segment must be > 0, preroll and min_segment >= 0")
        self._client = client_from_options(server, clock=clock, transport=transport)
        self._vad = vad
        self._window = window
        self._preroll = preroll
        self._max_segment = max_segment
        self._min_segment = min_segment
        self._silence_db = silence_db
        self.stream = stream
        self.language = language
        self._rate = 0
        self._buffer: list[FloatArray] = []
        self._buffer_start = 0.0
        self._heard = 0.0
        self._segment_start: float | None = None

    @property
    def client(self) -> OpenAICompatClient:
        """The HTTP client."""
        return self._client

    async def check(self) -> None:
        """Reach the server and resolve the model now; raise a clear error if it is not usable."""
        await self._client.check()

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        """Buffer the chunk; transcribe a segment when it ends."""
        if not self._buffer:
            self._buffer_start = chunk.start_time
        self._rate = chunk.sample_rate
        self._buffer.append(chunk.samples)
        self._heard = chunk.end_time
        if self._vad is None:
            if self._heard - self._buffer_start < self._window - 1e-9:
                return []
            found = await self._transcribe(self._buffer_start, self._heard)
            self._buffer = []
            return found
        out: list[Perception] = []
        for perception in await self._vad.perceive(chunk):
            out.append(perception)
            if not isinstance(perception, SpeechActivity):
                continue
            if perception.speaking and self._segment_start is None:
                self._segment_start = max(self._buffer_start, perception.span_start - self._preroll)
            elif not perception.speaking and self._segment_start is not None:
                out += await self._transcribe(self._segment_start, perception.span_end)
                self._segment_start = None
        if self._segment_start is not None and self._heard - self._segment_start >= self._max_segment:
            out += await self._transcribe(self._segment_start, self._heard)
            self._segment_start = self._heard
        self._trim()
        return out

    async def finish(self) -> Sequence[Perception]:
        """Transcribe what is still open at the end of the stream (a segment or a partial window)."""
        out: list[Perception] = list(await self._vad.finish()) if self._vad is not None else []
        start = self._segment_start if self._vad is not None else self._buffer_start
        if start is not None and self._buffer:
            out += await self._transcribe(start, self._heard)
        self._buffer = []
        self._segment_start = None
        return out

    async def reset(self) -> None:
        """Forget buffered audio and the open segment."""
        self._buffer = []
        self._segment_start = None
        if self._vad is not None:
            await self._vad.reset()

    async def aclose(self) -> None:
        """Close the connection pool (and the VAD)."""
        await self._client.aclose()
        if self._vad is not None:
            await self._vad.aclose()

    def _audio(self, start: float, end: float) -> FloatArray:
        samples = np.concatenate(self._buffer)
        first = max(0, round((start - self._buffer_start) * self._rate))
        last = max(first, round((end - self._buffer_start) * self._rate))
        return samples[first:last]

    def _trim(self) -> None:
        keep_from = self._segment_start if self._segment_start is not None else self._heard - self._preroll
        samples = np.concatenate(self._buffer)
        drop = min(samples.size, max(0, round((keep_from - self._buffer_start) * self._rate)))
        if drop:
            self._buffer = [samples[drop:]] if drop < samples.size else []
            self._buffer_start += drop / self._rate

    async def _transcribe(self, start: float, end: float) -> list[Perception]:
        samples = self._audio(start, end)
        if samples.size < self._min_segment * self._rate or self._too_quiet(samples):
            return []
        text = (await self._request(samples)).strip()
        if not text:
            return []
        return [TranscriptUpdate(span_start=start, span_end=end, committed=text, source=self.name)]

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
