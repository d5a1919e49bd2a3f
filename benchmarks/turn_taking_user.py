"""The simulated user of the turn-taking benchmark: a live microphone that reacts to the agent.

:class:`LiveUser` is the session's audio source and one of its observers. It yields 20 ms
blocks when their last sample would have been recorded (real time on the session's clock),
so what it does next can depend on everything the agent did so far, as a person's would:
it waits for the agent's reply before the next item, starts an interruption a set time
after the reply's first audio, and so on. With an echo level set it also mixes the reply
audio the session plays back into the microphone, late by a short delay (a speaker next
to the microphone). Everything it does is written down in stream seconds, in one record
per item, for the scoring.

:func:`speaking_responder` is the agent's voice when the benchmark does not use the
registry's responder: fixed reply texts, paced like the default language model (first
word after 0.12 s, 15 words/s) and spoken by espeak-ng through ``SpeechResponder``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly
from turn_taking_items import LEVEL_DBFS, RATE, Clip, Episode, PauseItem, frame_db

from audiointeract.audio import FloatArray
from audiointeract.backends.mock import ScriptedResponder
from audiointeract.backends.speech import EspeakSynthesizer, SpeechResponder
from audiointeract.clock import Clock
from audiointeract.events import (
    Event,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ResponseRequest,
)
from audiointeract.interfaces import AudioSource, Observer

BLOCK = RATE // 50  # 20 ms
LEAD = 0.5  # silence before each item, once the agent is quiet
ANSWER_WAIT = 3.5  # how long the user waits for an answer after the end of a turn
OPENER_WAIT = 3.5
MAX_PATIENCE = 20.0  # the longest the user waits for a lagging agent to catch up
SETTLE = 1.0  # silence kept after a backchannel or a self-speech reply, to see what the agent does next
WARMUP_SECONDS = 1.0

SHORT_REPLY = "Sure, I can do that."  # 1.7 s of espeak-ng speech
MEDIUM_REPLY = "Sure. Open the settings page, pick the option you want, and press save."  # 4.9 s
LONG_REPLY = ("Sure. First open the settings page and choose your account. Then pick the option you "
              "want from the list, check the details, and press save when you are done.")  # 9.3 s
REPLY_TEXTS = {"short": SHORT_REPLY, "interrupt": LONG_REPLY, "backchannel": MEDIUM_REPLY, "self": MEDIUM_REPLY}


def speaking_responder(user: LiveUser) -> SpeechResponder:
    """The scripted agent voice: ``user`` picks each reply's text (short answers, long replies to talk over)."""
    inner = ScriptedResponder(user.reply_text, tokens_per_second=15.0, first_token_delay=0.12)
    return SpeechResponder(inner, EspeakSynthesizer())


def _resample_piece(samples: FloatArray, rate: int) -> FloatArray:
    """One played piece at 16 kHz; its edges are extended linearly so pieces join without clicks."""
    if rate == RATE:
        return samples
    divisor = math.gcd(rate, RATE)
    out: FloatArray = resample_poly(samples, RATE // divisor, rate // divisor, padtype="line").astype(np.float32)
    return out


def active_level(samples: FloatArray) -> float:
    """Active level (dBFS) of a sound: the power mean of frames within 35 dB of the loudest."""
    levels = frame_db(samples).astype(np.float64)
    active = levels[levels > levels.max() - 35.0]
    return float(10 * np.log10(np.mean(10 ** (active / 10))))


@attrs.define
class _Reply:
    reply_id: int
    started: float
    first_audio: float | None = None
    ended: float | None = None


@attrs.define
class _Echo:
    start: int  # stream sample where the echo of a played piece begins
    samples: FloatArray


class LiveUser(AudioSource, Observer):
    """Plays the items in order, in real time, reacting to the agent's replies; see the module docstring."""

    def __init__(
        self,
        items: list[PauseItem | Episode],
        *,
        clock: Clock,
        warmup: Clip | None = None,
        echo_reference_level: float | None = None,
    ) -> None:
        self.items = items
        self.records: list[dict[str, Any]] = []
        self.events: list[tuple[float, Event]] = []
        self.lateness: list[float] = []  # how late each block was handed over (event-loop congestion)
        self._clock = clock
        self._warmup = warmup
        self._origin: float | None = None
        self._samples_out = 0
        self._replies: list[_Reply] = []
        self._reply_kind = "short"
        self._echo_gain = 0.0
        self._echo_delay = 0.0
        self._echo_reference = echo_reference_level
        self._echoes: list[_Echo] = []
        self.caught_up: Callable[[], bool] = lambda: True
        """Whether the agent has perceived and decided on all audio so far (set by the harness)."""
        self.catch_up_waits: list[float] = []

    # ------------------------------------------------------------------ what the agent does

    def reply_text(self, request: ResponseRequest) -> str:
        """The next reply: long for the first reply of an episode (to talk over), short otherwise."""
        kind, self._reply_kind = self._reply_kind, "short"
        return REPLY_TEXTS[kind]

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        self.events.append((at, event))
        if isinstance(event, ReplyStarted):
            self._replies.append(_Reply(reply_id=event.reply_id, started=at))
        elif isinstance(event, ReplyAudio):
            reply = None if event.backchannel else self._reply(event.reply_id)
            if reply is not None and reply.first_audio is None:
                reply.first_audio = event.play_at
            if self._echo_gain and event.samples is not None:
                piece = _resample_piece(np.asarray(event.samples, dtype=np.float32), event.sample_rate)
                start = round((event.play_at + self._echo_delay) * RATE)
                self._echoes.append(_Echo(start=start, samples=piece * self._echo_gain))
        elif isinstance(event, (ReplyFinished, ReplyCancelled, ReplyFailed)):
            reply = self._reply(event.reply_id)
            if reply is not None:
                reply.ended = at

    def _reply(self, reply_id: int) -> _Reply | None:
        return next((r for r in reversed(self._replies) if r.reply_id == reply_id), None)

    @property
    def _speaking_reply(self) -> _Reply | None:
        last = self._replies[-1] if self._replies else None
        return last if last is not None and last.ended is None else None

    def _last_end(self) -> float:
        return max((r.ended or 0.0 for r in self._replies), default=0.0)

    def _reply_since(self, t: float) -> _Reply | None:
        return next((r for r in self._replies if r.started >= t), None)

    # ------------------------------------------------------------------ the microphone

    @property
    def now(self) -> float:
        """Stream time of the next sample."""
        return self._samples_out / RATE

    async def _emit(self, samples: FloatArray) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        for offset in range(0, samples.size, BLOCK):
            block = samples[offset : offset + BLOCK].astype(np.float32, copy=True)
            if block.size < BLOCK:
                block = np.concatenate([block, np.zeros(BLOCK - block.size, np.float32)])
            self._mix_echo(block)
            if self._origin is None:
                self._origin = self._clock.now()
            due = self._origin + (self._samples_out + BLOCK) / RATE
            await self._clock.sleep_until(due)
            self.lateness.append(self._clock.now() - due)
            self._samples_out += BLOCK
            yield block, RATE

    def _mix_echo(self, block: FloatArray) -> None:
        first, last = self._samples_out, self._samples_out + block.size
        kept = []
        for echo in self._echoes:
            end = echo.start + echo.samples.size
            if end <= first:
                continue
            kept.append(echo)
            lo, hi = max(first, echo.start), min(last, end)
            if lo < hi:
                block[lo - first : hi - first] += echo.samples[lo - echo.start : hi - echo.start]
        self._echoes = kept
        np.clip(block, -1.0, 1.0, out=block)

    async def _say(self, samples: FloatArray) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        async for block in self._emit(samples):
            yield block

    async def _silence_while(self, condition: Callable[[], bool]) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        silence = np.zeros(BLOCK, np.float32)
        while condition():
            async for block in self._emit(silence):
                yield block

    async def _silence_for(self, seconds: float) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        until = self.now + seconds
        async for block in self._silence_while(lambda: self.now < until - 1e-9):
            yield block

    def _patient(self, deadline: float) -> bool:
        """Still within ``deadline``, or the agent has not caught up with the audio yet (bounded)."""
        return self.now < deadline or (not self.caught_up() and self.now < deadline + MAX_PATIENCE)

    def _lagging(self, until: float) -> bool:
        return not self.caught_up() and self.now < until

    async def _quiet_lead(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        """Wait until the agent is quiet, then ``LEAD`` seconds more."""
        async for block in self._silence_while(lambda: self._speaking_reply is not None):
            yield block
        async for block in self._silence_while(lambda: self.now < self._last_end() + LEAD):
            yield block
        async for block in self._silence_for(0.02):
            yield block

    async def _settle(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        """End of an item: wait until the agent is quiet and has caught up with the audio (waits recorded).

        A lagging perceiver would otherwise decide on this item while the next one plays;
        waiting keeps items apart and leaves a late answer inside its own item.
        """
        while True:
            async for block in self._silence_while(lambda: self._speaking_reply is not None):
                yield block
            began = self.now
            async for block in self._silence_while(partial(self._lagging, began + MAX_PATIENCE)):
                yield block
            self.catch_up_waits.append(self.now - began)
            if self._speaking_reply is None:
                return

    async def _await_answer(self, end: float) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        """Silence until a reply that started after ``end`` is over, or none came within ``ANSWER_WAIT``.

        The user waits longer while the agent is still catching up with the audio.
        """
        def waiting() -> bool:
            if self._speaking_reply is not None:
                return True
            return self._reply_since(end) is None and self._patient(end + ANSWER_WAIT)
        async for block in self._silence_while(waiting):
            yield block

    # ------------------------------------------------------------------ the script

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        async for block in self._silence_for(WARMUP_SECONDS):
            yield block
        if self._warmup is not None:
            async for block in self._say(self._warmup.samples):
                yield block
            async for block in self._silence_for(ANSWER_WAIT):
                yield block
            async for block in self._settle():
                yield block
        for item in self.items:
            async for block in self._quiet_lead():
                yield block
            self._echo_gain = 0.0
            record: dict[str, Any] = {"id": item.id, "start": self.now}
            self.records.append(record)
            if isinstance(item, PauseItem):
                play = self._pause_item(item, record)
            else:
                play = self._episode(item, record)
            async for block in play:
                yield block
            async for block in self._settle():
                yield block
            record["stop"] = self.now
        async for block in self._silence_for(0.5):
            yield block

    async def _pause_item(self, item: PauseItem, record: dict[str, Any]) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        t0 = self.now
        record.update(kind="pause", clip=item.clip, onset=t0 + item.onset, fragment_end=t0 + item.fragment_end,
                      continuation_onset=t0 + item.continuation_onset, end=t0 + item.end, pause=item.pause,
                      fragment=item.fragment, continuation=item.continuation)
        self._reply_kind = "short"
        async for block in self._say(item.samples):
            yield block
        async for block in self._await_answer(record["end"]):
            yield block

    async def _episode(self, episode: Episode, record: dict[str, Any]) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        t0 = self.now
        record.update(kind=episode.kind, opener=episode.opener.name, opener_onset=t0 + episode.opener.onset,
                      opener_end=t0 + episode.opener.end)
        self._reply_kind = episode.kind
        if episode.kind == "self":
            self._start_echo(episode)
        async for block in self._say(episode.opener.samples):
            yield block

        def no_audio_yet() -> bool:
            reply = self._reply_since(t0)
            first = reply.first_audio if reply is not None else None
            return first is None and (reply is None or reply.ended is None) and self._patient(
                record["opener_end"] + OPENER_WAIT)
        async for block in self._silence_while(no_audio_yet):
            yield block
        reply = self._reply_since(t0)
        record["reply_first_audio"] = reply.first_audio if reply is not None else None
        if reply is None or reply.first_audio is None:
            self._reply_kind = "short"
            record["void"] = "the agent did not answer the opener"
            return
        if episode.kind == "self":
            async for block in self._silence_while(lambda: self._speaking_reply is not None):
                yield block
            async for block in self._silence_for(SETTLE):
                yield block
            return
        assert episode.other is not None
        at = reply.first_audio + episode.delay
        async for block in self._silence_while(lambda: self.now < at and self._speaking_reply is not None):
            yield block
        if self._speaking_reply is None:
            record["void"] = "the reply ended before the user's sound was due"
            return
        t1 = self.now
        record.update(other=episode.other.name, label=episode.label, other_onset=t1 + episode.other.onset,
                      other_end=t1 + episode.other.end)
        async for block in self._say(episode.other.samples):
            yield block
        if episode.kind == "interrupt":
            async for block in self._await_answer(record["other_end"]):
                yield block
        else:
            async for block in self._silence_while(lambda: self._speaking_reply is not None):
                yield block
            async for block in self._silence_for(SETTLE):
                yield block

    def _start_echo(self, episode: Episode) -> None:
        if self._echo_reference is None:
            msg = "self-speech items need the reply voice's level (echo_reference_level)"
            raise RuntimeError(msg)
        self._echo_gain = 10 ** ((LEVEL_DBFS + episode.level_db - self._echo_reference) / 20)
        self._echo_delay = episode.echo_delay
