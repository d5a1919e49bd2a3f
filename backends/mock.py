"""Mock backends: deterministic, dependency-free, running on the injected clock.

They are product features for testing apps and policies, not placeholders:

* :class:`ScriptedPerceiver` emits given perceptions once their audio has been heard.
* :class:`EnergyPerceiver` is a real (if simple) energy-based speech detector.
* :class:`ScriptedDecider` takes given actions at given stream times.
* :class:`TurnEndDecider` answers when the user stops speaking and yields to barge-in.
* :class:`ScriptedResponder` streams text at a set token rate after a first-token delay,
  optionally with synthetic speech audio.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from audiointeract import options
from audiointeract.audio import AudioChunk, FloatArray, check_sample_rate
from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import AudioFormatError, ConfigurationError
from audiointeract.events import (
    Action,
    AudioDelta,
    Decision,
    Perception,
    ResponseDelta,
    ResponseRequest,
    SpeechActivity,
    TextDelta,
    event_from_dict,
)
from audiointeract.interfaces import Decider, DecisionContext, Perceiver, Responder

__all__ = [
    "EnergyPerceiver",
    "ScriptedAction",
    "ScriptedDecider",
    "ScriptedPerceiver",
    "ScriptedResponder",
    "TurnEndDecider",
    "hum",
]


def _script(name: str, items: object, build: Callable[[Mapping[str, Any]], Any], kind: type[Any]) -> list[Any]:
    """A script as a list of ``kind``; mappings (JSON from the command line) are built with ``build``."""
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise ConfigurationError(f"{name} must be a list, got {type(items).__name__} {items!r}")
    out = []
    for position, item in enumerate(items):
        step = build(item) if isinstance(item, Mapping) else item
        if not isinstance(step, kind):
            raise ConfigurationError(
                f"{name}[{position}] must be a {kind.__name__} or an object of its fields, got {type(item).__name__}"
            )
        out.append(step)
    return out


def _perception(data: Mapping[str, Any]) -> Any:
    return event_from_dict(dict(data))


def _action(data: Mapping[str, Any]) -> ScriptedAction:
    try:
        return ScriptedAction(**data)
    except (TypeError, ValueError) as exc:
        fields = ", ".join(field.name for field in attrs.fields(ScriptedAction))
        raise ConfigurationError(f"a scripted action takes {fields} (action one of "
                                 f"{', '.join(a.value for a in Action)}): {exc}") from exc


class ScriptedPerceiver(Perceiver):
    """Emits each scripted perception with the chunk in which its ``span_end`` is heard.

    Perceptions whose audio never arrives (span beyond the end of the stream) are
    never emitted. Script items may be perceptions or their dicts (``{"kind":
    "speech_activity", "span_start": 0, "span_end": 1.2, "speaking": true}``).
    """

    name = "mock"

    def __init__(self, script: Sequence[Perception | Mapping[str, Any]] = ()) -> None:
        steps: list[Perception] = _script("script", script, _perception, Perception)
        self._script = sorted(steps, key=lambda p: (p.span_end, p.span_start))
        self._position = 0

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        out: list[Perception] = []
        while self._position < len(self._script) and self._script[self._position].span_end <= chunk.end_time:
            out.append(self._script[self._position])
            self._position += 1
        return out

    async def reset(self) -> None:
        self._position = 0


class EnergyPerceiver(Perceiver):
    """Speech activity from frame energy with onset/hangover smoothing (numpy only).

    Speech starts after ``min_speech`` seconds above ``threshold_db`` (dBFS RMS over
    20 ms frames) and ends after ``min_silence`` seconds below it.
    """

    name = "energy"

    def __init__(self, *, threshold_db: float = -40.0, min_speech: float = 0.15, min_silence: float = 0.5) -> None:
        self._threshold = options.number("threshold_db", threshold_db, maximum=0.0)
        self._min_speech = options.number("min_speech", min_speech, minimum=0.0)
        self._min_silence = options.number("min_silence", min_silence, positive=True)
        self._speaking = False
        self._run_start: float | None = None

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        frame = max(1, chunk.sample_rate // 50)
        out: list[Perception] = []
        samples = chunk.samples
        for offset in range(0, samples.size, frame):
            block = samples[offset : offset + frame].astype(np.float64)
            rms = math.sqrt(float(np.mean(block * block))) if block.size else 0.0
            loud = 20 * math.log10(rms + 1e-12) > self._threshold
            t = (chunk.start_sample + offset) / chunk.sample_rate
            t_end = (chunk.start_sample + offset + block.size) / chunk.sample_rate
            if loud != self._speaking:
                if self._run_start is None:
                    self._run_start = t
                needed = self._min_speech if loud else self._min_silence
                if t_end - self._run_start >= needed:
                    self._speaking = loud
                    out.append(
                        SpeechActivity(span_start=self._run_start, span_end=t_end, speaking=loud, source=self.name)
                    )
                    self._run_start = None
            else:
                self._run_start = None
        return out

    async def reset(self) -> None:
        self._speaking = False
        self._run_start = None


@attrs.frozen(kw_only=True)
class ScriptedAction:
    """Take ``action`` (for ``task``) at the first decision point with ``heard_until >= at``."""

    at: float = attrs.field()
    action: Action = attrs.field(converter=Action)
    task: str | None = None
    reason: str = "scripted"

    @at.validator
    def _check_at(self, _: attrs.Attribute[float], value: float) -> None:
        options.number("ScriptedAction.at", value, minimum=0.0)


class ScriptedDecider(Decider):
    """Takes scripted actions at scripted stream times; SILENT otherwise.

    Script items may be :class:`ScriptedAction` or their dicts (``{"at": 2.0, "action": "respond"}``).
    """

    name = "scripted"

    def __init__(self, script: Sequence[ScriptedAction | Mapping[str, Any]] = ()) -> None:
        steps: list[ScriptedAction] = _script("script", script, _action, ScriptedAction)
        self._script = sorted(steps, key=lambda a: a.at)
        self._position = 0

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        if self._position < len(self._script) and self._script[self._position].at <= context.heard_until:
            step = self._script[self._position]
            self._position += 1
            return Decision(action=step.action, task=step.task, reason=step.reason)
        return Decision.silent()

    async def reset(self) -> None:
        self._position = 0


class TurnEndDecider(Decider):
    """RESPOND when the user's speech ends; INTERRUPT when the user speaks over a reply.

    ``task`` names the standing task the replies serve (default: the first one).
    """

    name = "turn-end"

    def __init__(self, *, task: str | None = None, barge_in: bool = True) -> None:
        self._task = options.optional_text("task", task)
        self._barge_in = options.flag("barge_in", barge_in)

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        task = self._task or (context.tasks[0].name if context.tasks else None)
        for p in reversed(perceptions):
            if not isinstance(p, SpeechActivity):
                continue
            if p.speaking and context.agent_speaking and self._barge_in:
                return Decision(action=Action.INTERRUPT, task=task, evidence=(p,), reason="user spoke over the reply")
            if not p.speaking and not context.agent_speaking:
                return Decision(action=Action.RESPOND, task=task, evidence=(p,), reason="user turn ended")
        return Decision.silent()


_LONGEST = 60.0
"""Longest first-token delay or spoken word the scripted responder takes, in seconds."""


def hum(seconds: float, sample_rate: int = 16000) -> FloatArray:
    """A soft voiced hum of ``seconds`` (a stand-in for speech audio in tests)."""
    size = max(1, round(seconds * sample_rate))
    t = np.arange(size) / sample_rate
    envelope = np.sin(np.linspace(0.0, math.pi, size)) ** 2
    return (0.1 * envelope * np.sin(2 * math.pi * 180.0 * t)).astype(np.float32)


class ScriptedResponder(Responder):
    """Streams a reply word by word on the clock, optionally with a voice.

    ``reply`` is a fixed text or a function of the request. The first word comes
    ``first_token_delay`` seconds after the request, then one word every
    ``1 / tokens_per_second`` seconds. With ``word_seconds`` each word is followed by
    that much synthetic speech audio (:func:`hum`), and acknowledgements are spoken too.
    """

    name = "mock"

    def __init__(
        self,
        reply: str | Callable[[ResponseRequest], str] = "Okay.",
        *,
        tokens_per_second: float = 20.0,
        first_token_delay: float = 0.2,
        word_seconds: float | None = None,
        sample_rate: int = 16000,
        clock: Clock | None = None,
    ) -> None:
        if not (isinstance(reply, str) or callable(reply)):
            raise ConfigurationError(
                f"reply must be a string or a function of the request, got {type(reply).__name__} {reply!r} "
                """(on the command line quote it as JSON: -o 'responder.reply="5"')"""
            )
        self._interval = 1.0 / options.number("tokens_per_second", tokens_per_second, positive=True)
        self._first = options.number("first_token_delay", first_token_delay, minimum=0.0, maximum=_LONGEST)
        seconds = None if word_seconds is None else options.number("word_seconds", word_seconds, positive=True,
                                                           maximum=_LONGEST)
        try:
            self._rate = check_sample_rate(sample_rate, "sample_rate")
        except AudioFormatError as exc:
            raise ConfigurationError(str(exc)) from exc
        self._reply = reply
        self._voice = None if seconds is None else hum(seconds, self._rate)
        self._clock = clock or LoopClock()

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        text = self._reply(request) if callable(self._reply) else self._reply
        words = text.split()
        await self._clock.sleep(self._first)
        for number, word in enumerate(words):
            if number:
                await self._clock.sleep(self._interval)
            yield TextDelta(text=word if number == 0 else " " + word)
            if self._voice is not None:
                yield AudioDelta(samples=self._voice, sample_rate=self._rate, text=word)

    async def acknowledgement(self, text: str) -> AudioDelta | None:
        if self._voice is None:
            return None
        return AudioDelta(samples=hum(0.4, self._rate), sample_rate=self._rate, text=text)
