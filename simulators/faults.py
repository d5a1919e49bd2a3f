"""Fault injection: make a backend fail, hang, return garbage or slow down for a span.

A :class:`Fault` applies while the stream time a call is about — the chunk's end
for the perceiver, ``heard_until`` for the decider, the triggering decision's
``heard_until`` for the responder — lies in ``[start, end)``. The session's
:class:`~audiointeract.config.FailurePolicy` then retries, skips or stops, and the
trace shows each :class:`~audiointeract.events.BackendErrorEvent`.

Kinds:

* ``raise`` — raise :class:`~audiointeract.errors.BackendError` (``retryable`` as given);
* ``hang`` — wait ``seconds`` on the clock (set the policy's ``timeout`` to see a
  :class:`~audiointeract.errors.BackendTimeout`);
* ``garbage`` — broken output, alternating between two forms per backend call:
  a perceiver returns a perception of audio not yet heard, a non-perception and an
  empty transcript, or builds a sound event with a NaN score; a decider returns a
  non-Decision, or a RESPOND resting on unheard audio, or builds a NaN-score
  decision; a responder streams empty text then a non-delta, or builds NaN audio.
  NaN values never get past the value types: building them raises
  :class:`~audiointeract.errors.ConfigurationError` / ``AudioFormatError``, which
  the session reports like any backend failure;
* ``slow`` — wait an extra ``seconds`` per call, then behave.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Literal

import attrs
import numpy as np

from audiointeract.audio import AudioChunk
from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import BackendError, ConfigurationError
from audiointeract.events import (
    Action,
    AudioDelta,
    Decision,
    Perception,
    ResponseDelta,
    ResponseRequest,
    SoundEvent,
    SpeechActivity,
    TextDelta,
    TranscriptUpdate,
)
from audiointeract.interfaces import Decider, DecisionContext, Perceiver, Responder
from audiointeract.simulators._validation import one_of

__all__ = ["Fault", "FaultPlan", "FaultyDecider", "FaultyPerceiver", "FaultyResponder"]

Component = Literal["perceiver", "decider", "responder"]
FaultKind = Literal["raise", "hang", "garbage", "slow"]


@attrs.frozen(kw_only=True)
class Fault:
    """``component`` misbehaves as ``kind`` for calls about stream time in ``[start, end)``."""

    component: Component = attrs.field(validator=one_of("perceiver", "decider", "responder"))
    kind: FaultKind = attrs.field(validator=one_of("raise", "hang", "garbage", "slow"))
    start: float = 0.0
    end: float = math.inf
    retryable: bool = True
    seconds: float = 1.0
    """How long ``hang`` waits or ``slow`` adds per call."""

    def __attrs_post_init__(self) -> None:
        if not (math.isfinite(self.start) and self.start >= 0 and self.end > self.start):
            raise ConfigurationError(f"Fault span [{self.start}, {self.end}) must satisfy 0 <= start < end")
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise ConfigurationError(f"Fault.seconds must be finite and >= 0, got {self.seconds}")

    def covers(self, stream_time: float) -> bool:
        """Whether a call about ``stream_time`` is affected."""
        return self.start <= stream_time < self.end

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``end`` None for open-ended)."""
        data = attrs.asdict(self)
        data["end"] = None if math.isinf(self.end) else self.end
        return data


def _fault_tuple(value: Iterable[Fault]) -> tuple[Fault, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class FaultPlan:
    """The faults of one simulation."""

    faults: tuple[Fault, ...] = attrs.field(default=(), converter=_fault_tuple)

    def of(self, component: Component) -> tuple[Fault, ...]:
        """The faults that hit ``component``."""
        return tuple(f for f in self.faults if f.component == component)

    def wrap(
        self, perceiver: Perceiver, decider: Decider, responder: Responder, *, clock: Clock | None = None
    ) -> tuple[Perceiver, Decider, Responder]:
        """Wrap each backend that has faults."""
        if self.of("perceiver"):
            perceiver = FaultyPerceiver(perceiver, self.of("perceiver"), clock=clock)
        if self.of("decider"):
            decider = FaultyDecider(decider, self.of("decider"), clock=clock)
        if self.of("responder"):
            responder = FaultyResponder(responder, self.of("responder"), clock=clock)
        return perceiver, decider, responder

    @classmethod
    def from_dicts(cls, items: Sequence[dict[str, Any]]) -> FaultPlan:
        """Rebuild from :meth:`Fault.to_dict` outputs."""
        faults = []
        given: object = items  # from a file: anything
        if isinstance(given, str | bytes) or not isinstance(given, Sequence):
            raise ConfigurationError(f"faults must be a list of objects, got {type(given).__name__}")
        for item in items:
            try:
                data = dict(item)
                if data.get("end") is None:
                    data["end"] = math.inf
                faults.append(Fault(**data))
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(f"malformed fault {item!r}: {exc}") from exc
        return cls(faults=faults)


async def _misbehave(faults: Sequence[Fault], stream_time: float, component: str, clock: Clock) -> bool:
    """Apply raise/hang/slow faults; return True when the call should return garbage."""
    garbage = False
    for fault in faults:
        if not fault.covers(stream_time):
            continue
        if fault.kind == "raise":
            raise BackendError(
                f"injected {component} failure at {stream_time:.3f}s", retryable=fault.retryable
            )
        if fault.kind in ("hang", "slow"):
            await clock.sleep(fault.seconds)
        else:
            garbage = True
    return garbage


class FaultyPerceiver(Perceiver):
    """A perceiver with injected faults."""

    def __init__(self, inner: Perceiver, faults: Sequence[Fault], *, clock: Clock | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._faults = tuple(faults)
        self._clock = clock or LoopClock()
        self._garbage = 0

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        if await _misbehave(self._faults, chunk.end_time, "perceiver", self._clock):
            self._garbage += 1
            if self._garbage % 2:
                return [
                    SpeechActivity(span_start=chunk.end_time, span_end=chunk.end_time + 5.0, speaking=True),
                    "not a perception",  # type: ignore[list-item]
                    TranscriptUpdate(span_start=chunk.start_time, span_end=chunk.end_time),
                ]
            return [SoundEvent(span_start=chunk.start_time, span_end=chunk.end_time, label="noise", score=math.nan)]
        return await self.inner.perceive(chunk)

    async def finish(self) -> Sequence[Perception]:
        return await self.inner.finish()

    async def reset(self) -> None:
        await self.inner.reset()

    async def aclose(self) -> None:
        await self.inner.aclose()


class FaultyDecider(Decider):
    """A decider with injected faults."""

    def __init__(self, inner: Decider, faults: Sequence[Fault], *, clock: Clock | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._faults = tuple(faults)
        self._clock = clock or LoopClock()
        self._garbage = 0

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        if await _misbehave(self._faults, context.heard_until, "decider", self._clock):
            self._garbage += 1
            if self._garbage % 3 == 1:
                return "respond"  # type: ignore[return-value]
            if self._garbage % 3 == 2:
                future = SpeechActivity(span_start=context.heard_until, span_end=context.heard_until + 5.0,
                                        speaking=False)
                return Decision(action=Action.RESPOND, evidence=(future,), reason="garbage")
            return Decision(action=Action.RESPOND, score=math.nan)
        return await self.inner.decide(context, perceptions)

    async def reset(self) -> None:
        await self.inner.reset()

    async def aclose(self) -> None:
        await self.inner.aclose()


class FaultyResponder(Responder):
    """A responder with injected faults."""

    def __init__(self, inner: Responder, faults: Sequence[Fault], *, clock: Clock | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._faults = tuple(faults)
        self._clock = clock or LoopClock()
        self._garbage = 0

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        heard = request.decision.heard_until or 0.0
        if await _misbehave(self._faults, heard, "responder", self._clock):
            self._garbage += 1
            if self._garbage % 2:
                yield TextDelta(text="")
                yield "garbage"  # type: ignore[misc]
            else:
                yield AudioDelta(samples=np.full(160, np.nan, dtype=np.float32), sample_rate=16000)
            return
        async with contextlib.aclosing(self.inner.respond(request)) as stream:  # type: ignore[type-var]
            async for delta in stream:
                yield delta

    async def aclose(self) -> None:
        await self.inner.aclose()
