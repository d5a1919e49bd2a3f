"""Streaming transcription over an offline recogniser: LocalAgreement-2 on a rolling buffer.

Whisper decodes whole clips, not streams. :class:`LocalAgreement` turns any
``transcribe(audio, prompt) -> words`` function into a streaming recogniser the way
whisper_streaming does: audio accumulates in a buffer that is re-decoded every
``decode_every`` seconds; the words that two consecutive hypotheses agree on are
committed; the buffer is cut at committed sentence ends so memory and compute stay
bounded. It does no I/O and reads no clock, so it is tested with a fake recogniser.

:class:`StreamingAsrPerceiver` drives it from session chunks, gated by a speech
detector: silence is never decoded, and at the end of each utterance everything
heard is committed. The faster-whisper and transformers perceivers are thin
subclasses that only supply ``transcribe``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import anyio
import attrs
import numpy as np

from audiointeract.audio import AudioChunk, FloatArray, resample
from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import AudioFormatError, AudioInteractError, BackendError, ConfigurationError
from audiointeract.events import Perception, SpeechActivity, TranscriptUpdate, Word
from audiointeract.interfaces import Perceiver

__all__ = [
    "ASR_SAMPLE_RATE",
    "AsrStatistics",
    "LocalAgreement",
    "SpeechGate",
    "StreamingAsrPerceiver",
    "StreamingConfig",
    "StreamingStep",
    "Transcriber",
    "to_asr_rate",
]

ASR_SAMPLE_RATE = 16000
_SENTENCE_END = re.compile(r"[.?!]$")
_KEY = re.compile(r"[^\w']+")
_HYPHEN_PIECE = re.compile(r" -(?=\w)")
_OVERLAP_NGRAM = 5
_TAIL = 0.1  # silence a decode must have heard after the speech for its last word to count as finished

Transcriber = Callable[[FloatArray, str], Sequence[Word]]
"""Decode 16 kHz mono audio (with a text prompt); word times are seconds from the audio's start."""


class SpeechGate(Protocol):
    """A streaming speech detector fed 16 kHz audio (e.g. silero VAD).

    Its events are stamped at the audio: a speech end's ``span_end`` is where the speech
    ended, however long the detector waited to confirm it.
    """

    @property
    def pause_start(self) -> float | None:
        """Inside speech, where the silence now running began (not yet an end of speech); else None."""
        ...

    def push(self, samples: FloatArray, start_time: float) -> list[SpeechActivity]:
        """Feed samples starting at stream time ``start_time``; return the speech starts/ends found."""
        ...

    def end_now(self, heard: float) -> SpeechActivity | None:
        """End the speech in progress (the stream ended); None outside speech."""
        ...

    def reset(self) -> None:
        """Forget all state."""
        ...


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be > 0, got {value}")


def _optional_positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be > 0 or None, got {value}")


@attrs.frozen(kw_only=True)
class StreamingConfig:
    """How often to re-decode and how far the buffer may grow (seconds of audio)."""

    decode_every: float = attrs.field(default=1.0, validator=attrs.validators.ge(0.0))
    """Re-decode once this much new audio is buffered (0: on every chunk)."""
    pause_decode_after: float | None = attrs.field(default=0.3, validator=_optional_positive)
    """When a pause begins inside speech, re-decode if this much audio is new (None: only on the cadence).

    The decode lands on a word boundary and, when the pause turns out to be an end of
    speech, its hypothesis is committed without decoding again."""
    trim_after: float = attrs.field(default=10.0, validator=_positive)
    """Past this length the buffer is cut at the last committed sentence end."""
    max_buffer: float = attrs.field(default=20.0, validator=_positive)
    """Past this length the buffer is cut at the last committed word, or everything is committed."""
    min_context: float = attrs.field(default=2.0, validator=attrs.validators.ge(0.0))
    """Hypotheses of a shorter buffer are only tentative: Whisper guesses the first words of short audio."""
    prompt_chars: int = attrs.field(default=200, validator=attrs.validators.ge(0))
    """Committed text cut from the buffer (this utterance) is passed as the decoder prompt."""
    min_speech: float = attrs.field(default=0.25, validator=attrs.validators.ge(0.0))
    """A stretch of speech shorter than this (a click, a breath) is not transcribed."""

    def __attrs_post_init__(self) -> None:
        if self.max_buffer < self.trim_after or self.max_buffer > 28.0:
            raise ConfigurationError(
                f"need trim_after <= max_buffer <= 28 s (Whisper sees 30 s), got {self.trim_after}, {self.max_buffer}"
            )


@attrs.frozen(kw_only=True)
class StreamingStep:
    """What one decode produced: newly committed words and the unconfirmed tail (stream time)."""

    committed: tuple[Word, ...] = ()
    tentative: tuple[Word, ...] = ()
    decoded: bool = False


def _key(text: str) -> str:
    return _KEY.sub("", text.lower())


def _text(words: Sequence[Word]) -> str:
    """Words joined by spaces; a piece split off at a hyphen ("open" "-source") is re-attached."""
    return _HYPHEN_PIECE.sub("-", " ".join(word.text for word in words))


class LocalAgreement:
    """Sans-IO LocalAgreement-2: commit the prefix two consecutive hypotheses agree on.

    Feed contiguous 16 kHz audio with :meth:`insert`, call :meth:`process` when
    :attr:`due`, and :meth:`finish` at the end of an utterance (commits the rest and
    empties the buffer). Words come back in stream time.
    """

    def __init__(self, transcribe: Transcriber, config: StreamingConfig | None = None) -> None:
        self._transcribe = transcribe
        self.config = config or StreamingConfig()
        self._chunks: list[FloatArray] = []
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0.0
        self._new_samples = 0
        self._decoded_end = 0.0  # stream time up to which the last decode heard the buffer
        self._committed: list[Word] = []  # committed words still inside the buffer
        self._previous: list[Word] = []  # uncommitted tail of the last hypothesis
        self._previous_counts = False  # whether that hypothesis had enough context to agree with
        self._last_committed_end = 0.0
        self._prompt = ""

    # ------------------------------------------------------------------ state

    @property
    def buffer_start(self) -> float:
        """Stream time of the first buffered sample."""
        return self._buffer_start

    @property
    def buffer_seconds(self) -> float:
        """Seconds of audio in the buffer."""
        return (self._buffer.size + sum(c.size for c in self._chunks)) / ASR_SAMPLE_RATE

    @property
    def buffer_end(self) -> float:
        """Stream time just after the last buffered sample."""
        return self._buffer_start + self.buffer_seconds

    @property
    def tentative(self) -> tuple[Word, ...]:
        """The unconfirmed tail of the latest hypothesis."""
        return tuple(self._previous)

    @property
    def new_seconds(self) -> float:
        """Seconds of audio buffered since the last decode."""
        return self._new_samples / ASR_SAMPLE_RATE

    @property
    def due(self) -> bool:
        """Whether enough new audio arrived since the last decode."""
        return self._new_samples > 0 and self._new_samples >= self.config.decode_every * ASR_SAMPLE_RATE

    # ------------------------------------------------------------------ feeding

    def insert(self, samples: FloatArray, start_time: float) -> None:
        """Append audio; ``start_time`` starts a new buffer when the buffer is empty."""
        if samples.size == 0:
            return
        if self.buffer_seconds == 0:
            self._buffer_start = start_time
            self._last_committed_end = start_time
        self._chunks.append(samples)
        self._new_samples += samples.size

    def process(self) -> StreamingStep:
        """Re-decode the buffer, commit what two hypotheses agree on, trim the buffer."""
        if self.buffer_seconds == 0:
            return StreamingStep()
        hypothesis = self._decode()
        committed = self._agree(hypothesis)
        committed += self._trim()
        return StreamingStep(committed=tuple(committed), tentative=tuple(self._previous), decoded=True)

    def finish(self, until: float | None = None) -> StreamingStep:
        """End of utterance: commit the latest hypothesis and empty the buffer.

        The buffer is decoded once more first, unless the last decode already heard
        0.1 s past ``until`` (the end of speech; None: decode whatever is new).
        """
        covered = until is not None and self._decoded_end >= until + _TAIL - 1e-9
        decoded = self._new_samples > 0 and not covered
        committed = self._decode() if decoded else self._previous
        self.reset()
        return StreamingStep(committed=tuple(committed), decoded=decoded)

    def reset(self) -> None:
        """Drop the buffer, the hypotheses and the prompt."""
        self._chunks = []
        self._buffer = np.zeros(0, dtype=np.float32)
        self._new_samples = 0
        self._decoded_end = 0.0
        self._committed = []
        self._previous = []
        self._previous_counts = False
        self._prompt = ""

    # ------------------------------------------------------------------ internals

    def _decode(self) -> list[Word]:
        if self._chunks:
            self._buffer = np.concatenate([self._buffer, *self._chunks])
            self._chunks = []
        self._new_samples = 0
        end = self._decoded_end = self.buffer_end
        words: list[Word] = []
        for word in self._transcribe(self._buffer, self._prompt):
            text = word.text.strip()
            if not text:
                continue
            start = min(self._buffer_start + word.start, end)
            stop = min(max(self._buffer_start + word.end, start), end)
            words.append(Word(text=text, start=start, end=stop, probability=word.probability))
        # keep only words after what is already committed, minus the n-gram the decoder repeated
        words = [w for w in words if w.start > self._last_committed_end - 0.1]
        if words and self._committed and abs(words[0].start - self._last_committed_end) < 1.0:
            for n in range(min(_OVERLAP_NGRAM, len(self._committed), len(words)), 0, -1):
                tail = [_key(w.text) for w in self._committed[-n:]]
                if tail == [_key(w.text) for w in words[:n]]:
                    words = words[n:]
                    break
        return words

    def _agree(self, hypothesis: list[Word]) -> list[Word]:
        counts = self.buffer_seconds >= self.config.min_context
        agreed = 0
        for new, old in zip(hypothesis, self._previous if counts and self._previous_counts else (), strict=False):
            if _key(new.text) != _key(old.text):
                break
            agreed += 1
        self._previous_counts = counts
        committed = hypothesis[:agreed]
        self._previous = hypothesis[agreed:]
        if committed:
            self._committed.extend(committed)
            self._last_committed_end = committed[-1].end
        return committed

    def _trim(self) -> list[Word]:
        seconds = self.buffer_seconds
        cfg = self.config
        if seconds <= cfg.trim_after:
            return []
        # cut only where min_context of audio stays in the buffer, so the next decode has context
        limit = self.buffer_end - cfg.min_context
        kept = [w for w in self._committed if w.end <= limit]
        cut = next((w.end for w in reversed(kept) if _SENTENCE_END.search(w.text)), None)
        forced: list[Word] = []
        if seconds > cfg.max_buffer:
            if cut is None and kept:
                cut = kept[-1].end
            if cut is None:
                # nothing agreed in a long buffer: commit the hypothesis rather than lose the audio
                forced = self._previous
                self._committed.extend(forced)
                self._previous = []
                cut = forced[-1].end if forced else self.buffer_end - cfg.trim_after
                self._last_committed_end = max(self._last_committed_end, cut)
        if cut is not None and cut > self._buffer_start:
            self._cut(cut)
        return forced

    def _cut(self, at: float) -> None:
        drop = min(round((at - self._buffer_start) * ASR_SAMPLE_RATE), self._buffer.size)
        self._buffer = self._buffer[drop:].copy()
        self._buffer_start += drop / ASR_SAMPLE_RATE
        gone = [w for w in self._committed if w.end <= self._buffer_start + 1e-9]
        self._committed = [w for w in self._committed if w.end > self._buffer_start + 1e-9]
        if gone and self.config.prompt_chars:
            self._prompt = f"{self._prompt} {_text(gone)}".strip()[-self.config.prompt_chars :]


@attrs.frozen(kw_only=True)
class AsrStatistics:
    """Counters of a streaming ASR perceiver; times are measured on its clock.

    ``lag`` is how far the last result trailed a live stream: clock time since the first
    chunk minus stream time heard (0 when keeping up, and always 0 for audio fed faster
    than real time); ``max_lag`` is its largest value.
    """

    audio_seconds: float
    speech_seconds: float
    decodes: int
    compute_seconds: float
    buffer_seconds: float
    max_buffer_seconds: float
    lag: float
    max_lag: float

    @property
    def real_time_factor(self) -> float:
        """Compute time per second of audio heard (0 when nothing was heard)."""
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0


def to_asr_rate(chunk: AudioChunk) -> FloatArray:
    """The chunk's samples at 16 kHz, checked for NaN/inf."""
    if not np.all(np.isfinite(chunk.samples)):
        raise AudioFormatError(f"chunk {chunk.index} holds NaN or infinite samples")
    if chunk.sample_rate == ASR_SAMPLE_RATE:
        return chunk.samples
    return resample(chunk.samples, chunk.sample_rate, ASR_SAMPLE_RATE)


class StreamingAsrPerceiver(Perceiver):
    """Speech-gated streaming transcription: SpeechActivity and TranscriptUpdate perceptions.

    Every chunk is processed (none is skipped, so a slow recogniser shows up as the
    session's perceiver lag and queue depth, never as lost audio). ``offload`` runs
    the blocking work in a worker thread; set it False to run inline, e.g. on
    virtual time where compute should take no simulated time.
    """

    name = "streaming-asr"

    def __init__(
        self,
        transcribe: Transcriber,
        *,
        gate: SpeechGate | None,
        streaming: StreamingConfig | None = None,
        speech_pad: float = 0.5,
        offload: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if not 0 <= speech_pad <= 1.0:
            raise ConfigurationError(f"speech_pad must be within [0, 1] s, got {speech_pad}")
        self._policy = LocalAgreement(transcribe, streaming)
        self._gate = gate
        self._pad = speech_pad
        self._offload = offload
        self._clock = clock or LoopClock()
        self._recent = np.zeros(0, dtype=np.float32)  # last few seconds of 16 kHz audio, for pre-roll
        self._recent_start = 0.0
        self._in_speech = False
        self._onset = 0.0  # where the current speech began
        self._speech_end = 0.0  # where the last speech ended
        self._last_tentative = ""
        self._heard = 0.0
        self._audio_seconds = 0.0
        self._speech_seconds = 0.0
        self._decodes = 0
        self._compute = 0.0
        self._max_buffer = 0.0
        self._origin: float | None = None
        self._behind = 0.0  # how late the chunk being processed arrived here
        self._lag = 0.0
        self._max_lag = 0.0

    @property
    def cadence(self) -> float:
        """Seconds of new speech between re-decodes (0: every chunk)."""
        return self._policy.config.decode_every

    def statistics(self) -> AsrStatistics:
        """A snapshot of the work done so far."""
        return AsrStatistics(
            audio_seconds=self._audio_seconds,
            speech_seconds=self._speech_seconds,
            decodes=self._decodes,
            compute_seconds=self._compute,
            buffer_seconds=self._policy.buffer_seconds,
            max_buffer_seconds=self._max_buffer,
            lag=self._lag,
            max_lag=self._max_lag,
        )

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        if self._origin is None:
            self._origin = self._clock.now() - chunk.end_time
        self._behind = max(0.0, self._clock.now() - self._origin - chunk.end_time)
        out = await self._run(self._step, to_asr_rate(chunk), chunk.start_time, chunk.end_time)
        self._lag = max(0.0, self._clock.now() - self._origin - chunk.end_time)
        self._max_lag = max(self._max_lag, self._lag)
        return out

    async def finish(self) -> Sequence[Perception]:
        return await self._run(self._end_of_stream)

    async def reset(self) -> None:
        self._policy.reset()
        if self._gate is not None:
            self._gate.reset()
        self._recent = np.zeros(0, dtype=np.float32)
        self._in_speech = False
        self._speech_end = 0.0
        self._last_tentative = ""
        self._origin = None

    # ------------------------------------------------------------------ blocking part

    async def _run(self, fn: Callable[..., list[Perception]], *args: object) -> list[Perception]:
        started = self._clock.now()
        try:
            if self._offload:
                return await anyio.to_thread.run_sync(fn, *args)
            return fn(*args)
        except AudioInteractError:
            raise
        except Exception as exc:
            raise BackendError(f"{self.name} failed: {type(exc).__name__}: {exc}", retryable=False) from exc
        finally:
            self._compute += self._clock.now() - started

    def _step(self, samples: FloatArray, start: float, end: float) -> list[Perception]:
        self._remember(samples, start)
        self._heard = end
        self._audio_seconds += end - start
        if self._gate is None:
            self._in_speech = True
            self._feed(start, end)
            return self._decode(end) if self._policy.due else []
        out: list[Perception] = []
        cursor = start
        for event in self._gate.push(samples, start):
            if event.speaking and not self._in_speech:
                self._in_speech = True
                self._onset = event.span_start
                # pre-roll, but never back into the speech already committed
                cursor = max(event.span_start - self._pad, self._recent_start, self._speech_end)
                out.append(event)
            elif not event.speaking and self._in_speech:
                stop = max(cursor, min(end, event.span_end + self._pad))  # the speech and a little silence after it
                self._feed(cursor, stop)
                if event.span_end - event.span_start < self._policy.config.min_speech:
                    self._policy.reset()  # too short to be words: nothing to transcribe
                else:
                    out.extend(self._commit_all(end, until=event.span_end))
                out.append(event)
                self._in_speech = False
                self._speech_end = event.span_end
                cursor = stop
        if self._in_speech:
            self._feed(cursor, end)
            long_enough = self._gate is None or end - self._onset >= self._policy.config.min_speech
            # more than one cadence behind a live stream: skip this re-decode so the backlog drains
            keeping_up = self._behind <= max(self.cadence, 0.1)
            if long_enough and keeping_up and (self._policy.due or self._pause_due(end)):
                out.extend(self._decode(end))
        return out

    def _pause_due(self, end: float) -> bool:
        """A pause began inside speech (0.1 s ago or more) and enough audio is new: decode now."""
        after = self._policy.config.pause_decode_after
        pause = None if self._gate is None else self._gate.pause_start
        return (after is not None and pause is not None and end - pause >= _TAIL - 1e-9
                and self._policy.new_seconds >= after)

    def _feed(self, begin: float, end: float) -> None:
        audio = self._slice(begin, end)
        self._policy.insert(audio, begin)
        self._speech_seconds += audio.size / ASR_SAMPLE_RATE
        self._max_buffer = max(self._max_buffer, self._policy.buffer_seconds)

    def _end_of_stream(self) -> list[Perception]:
        if not self._in_speech:
            return []
        out = self._commit_all(self._heard)
        self._in_speech = False
        if self._gate is not None:
            end = self._gate.end_now(self._heard)
            if end is not None:
                out.append(end)
            self._gate.reset()
        return out

    def _decode(self, end: float) -> list[Perception]:
        self._decodes += 1
        return self._update(self._policy.process(), end)

    def _commit_all(self, end: float, until: float | None = None) -> list[Perception]:
        step = self._policy.finish(until)
        self._decodes += int(step.decoded)
        return self._update(step, end)

    def _update(self, step: StreamingStep, end: float) -> list[Perception]:
        tentative = _text(step.tentative)
        if not step.committed and tentative == self._last_tentative:
            return []
        self._last_tentative = tentative
        words = (*step.committed, *step.tentative)
        span_start = min((w.start for w in words), default=self._policy.buffer_start)
        return [
            TranscriptUpdate(
                span_start=min(span_start, end),
                span_end=end,
                committed=_text(step.committed),
                tentative=tentative,
                words=step.committed,
                source=self.name,
            )
        ]

    def _remember(self, samples: FloatArray, start: float) -> None:
        keep = round((self._pad + 2.5) * ASR_SAMPLE_RATE) + samples.size
        recent_end = self._recent_start + self._recent.size / ASR_SAMPLE_RATE
        if self._recent.size and abs(recent_end - start) < 1.0 / ASR_SAMPLE_RATE:
            joined = np.concatenate([self._recent, samples])
        else:
            joined, self._recent_start = samples, start
        drop = max(0, joined.size - keep)
        self._recent = joined[drop:]
        self._recent_start += drop / ASR_SAMPLE_RATE

    def _slice(self, begin: float, end: float) -> FloatArray:
        first = max(0, round((begin - self._recent_start) * ASR_SAMPLE_RATE))
        last = max(first, round((end - self._recent_start) * ASR_SAMPLE_RATE))
        return self._recent[first:last]
