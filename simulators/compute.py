"""Compute-cost models: charge each backend call virtual time on the injected clock.

In *compute-aware* simulation each backend is wrapped (:class:`CostedPerceiver`,
:class:`CostedDecider`, :class:`CostedResponder`) and every call first waits its
cost on the clock, so a perceiver slower than real time shows up as queue growth,
stalls and lag. *Compute-unaware* simulation leaves the backends unwrapped: decisions
then take no time and latency is the policy's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

import attrs
import numpy as np

from audiointeract.audio import AudioChunk
from audiointeract.clock import Clock, LoopClock
from audiointeract.events import AudioDelta, Decision, Perception, ResponseDelta, ResponseRequest, TextDelta
from audiointeract.interfaces import Decider, DecisionContext, Perceiver, Responder
from audiointeract.simulators._validation import non_negative

__all__ = ["ComputeCosts", "CostModel", "CostedDecider", "CostedPerceiver", "CostedResponder", "costed"]


@attrs.frozen(kw_only=True)
class CostModel:
    """Seconds a call costs: ``fixed + per_audio_second * audio + per_token * tokens``.

    With ``spread > 0`` the cost is multiplied by a log-normal factor (median 1,
    log-sd ``spread``) drawn from the wrapper's seeded generator.
    """

    fixed: float = attrs.field(default=0.0, validator=non_negative)
    per_audio_second: float = attrs.field(default=0.0, validator=non_negative)
    per_token: float = attrs.field(default=0.0, validator=non_negative)
    spread: float = attrs.field(default=0.0, validator=non_negative)

    def seconds(self, rng: np.random.Generator, *, audio: float = 0.0, tokens: int = 0) -> float:
        """The cost of one call over ``audio`` seconds of audio producing ``tokens`` tokens."""
        base = self.fixed + self.per_audio_second * audio + self.per_token * tokens
        if self.spread > 0:
            base *= float(rng.lognormal(0.0, self.spread))
        return base

    @property
    def free(self) -> bool:
        """Whether every call costs nothing."""
        return self.fixed == 0 and self.per_audio_second == 0 and self.per_token == 0


@attrs.frozen(kw_only=True)
class ComputeCosts:
    """Cost models of the three backends (perceiver per chunk, decider per call, responder per delta)."""

    perceiver: CostModel = attrs.field(factory=CostModel)
    decider: CostModel = attrs.field(factory=CostModel)
    responder: CostModel = attrs.field(factory=CostModel)


class CostedPerceiver(Perceiver):
    """Waits ``cost`` for each chunk (per-audio-second costs use the chunk's length), then perceives."""

    def __init__(self, inner: Perceiver, cost: CostModel, *, seed: int = 0, clock: Clock | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._cost = cost
        self._rng = np.random.default_rng([seed, 1])
        self._clock = clock or LoopClock()

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        await self._clock.sleep(self._cost.seconds(self._rng, audio=chunk.duration))
        return await self.inner.perceive(chunk)

    async def finish(self) -> Sequence[Perception]:
        return await self.inner.finish()

    async def reset(self) -> None:
        await self.inner.reset()

    async def aclose(self) -> None:
        await self.inner.aclose()


class CostedDecider(Decider):
    """Waits ``cost`` per decision (tokens: the number of new perceptions), then decides."""

    def __init__(self, inner: Decider, cost: CostModel, *, seed: int = 0, clock: Clock | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._cost = cost
        self._rng = np.random.default_rng([seed, 2])
        self._clock = clock or LoopClock()

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        await self._clock.sleep(self._cost.seconds(self._rng, tokens=len(perceptions)))
        return await self.inner.decide(context, perceptions)

    async def reset(self) -> None:
        await self.inner.reset()

    async def aclose(self) -> None:
        await self.inner.aclose()


class CostedResponder(Responder):
    """Waits ``fixed`` before the first delta and ``per_token``/``per_audio_second`` per delta."""

    def __init__(self, inner: Responder, cost: CostModel, *, seed: int = 0, clock: Clock | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._cost = cost
        self._rng = np.random.default_rng([seed, 3])
        self._clock = clock or LoopClock()

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        first = CostModel(fixed=self._cost.fixed, spread=self._cost.spread)
        await self._clock.sleep(first.seconds(self._rng))
        per_delta = attrs.evolve(self._cost, fixed=0.0)
        async with contextlib.aclosing(self.inner.respond(request)) as stream:  # type: ignore[type-var]
            async for delta in stream:
                audio = delta.duration if isinstance(delta, AudioDelta) else 0.0
                tokens = len(delta.text.split()) if isinstance(delta, TextDelta) else 0
                await self._clock.sleep(per_delta.seconds(self._rng, audio=audio, tokens=tokens))
                yield delta

    async def aclose(self) -> None:
        await self.inner.aclose()


def costed(
    perceiver: Perceiver,
    decider: Decider,
    responder: Responder,
    costs: ComputeCosts,
    *,
    seed: int = 0,
    clock: Clock | None = None,
) -> tuple[Perceiver, Decider, Responder]:
    """Wrap the backends whose cost model is not free."""
    if not costs.perceiver.free:
        perceiver = CostedPerceiver(perceiver, costs.perceiver, seed=seed, clock=clock)
    if not costs.decider.free:
        decider = CostedDecider(decider, costs.decider, seed=seed, clock=clock)
    if not costs.responder.free:
        responder = CostedResponder(responder, costs.responder, seed=seed, clock=clock)
    return perceiver, decider, responder
