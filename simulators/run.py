"""Run the real session on a rendered scene, on virtual time, and score it.

:func:`simulate` is a coroutine (several can share one
:class:`~audiointeract.simulators.VirtualTimeLoop`, e.g. in a task group);
:func:`run_simulation` wraps it in a fresh virtual loop. Audio is paced in real time
(``Pacing.REALTIME``) so stream time equals session time, and two runs with the same
scene, seed and backends give byte-identical traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from audiointeract.audio import FloatArray
from audiointeract.backends.mock import ScriptedPerceiver
from audiointeract.clock import Clock, LoopClock
from audiointeract.config import Pacing, SessionConfig
from audiointeract.interfaces import Decider, Observer, Perceiver, Responder
from audiointeract.recording import RingRecorder
from audiointeract.session import Session, SessionStatistics
from audiointeract.simulators.agents import SpeakingResponder, TaskRuleDecider
from audiointeract.simulators.clips import ClipBank
from audiointeract.simulators.clock import run_virtual
from audiointeract.simulators.compute import ComputeCosts, costed
from audiointeract.simulators.faults import FaultPlan
from audiointeract.simulators.metrics import Report, score
from audiointeract.simulators.oracle import oracle_perceptions
from audiointeract.simulators.render import render
from audiointeract.simulators.scene import Scene
from audiointeract.sources import ArraySource
from audiointeract.trace import Trace

__all__ = ["DEFAULT_SOUND_HOP", "SimulationResult", "run_simulation", "simulate"]

DEFAULT_SOUND_HOP = 0.96
"""Frame of the default oracle sound tagger (YAMNet's window), seconds."""


@attrs.frozen(kw_only=True)
class SimulationResult:
    """The trace, its metrics and the session's final statistics."""

    trace: Trace = attrs.field(repr=False)
    report: Report
    statistics: SessionStatistics


async def simulate(
    scene: Scene,
    *,
    seed: int = 0,
    perceiver: Perceiver | None = None,
    decider: Decider | None = None,
    responder: Responder | None = None,
    config: SessionConfig | None = None,
    costs: ComputeCosts | None = None,
    compute_aware: bool = True,
    faults: FaultPlan | None = None,
    clock: Clock | None = None,
    observers: Sequence[Observer] = (),
    audio: FloatArray | None = None,
    bank: ClipBank | None = None,
    meta: dict[str, Any] | None = None,
) -> SimulationResult:
    """Render ``scene`` (unless ``audio`` is given), run a session on it and score the trace.

    Defaults: oracle perception (:func:`oracle_perceptions` through a
    :class:`ScriptedPerceiver`), :class:`TaskRuleDecider`, :class:`SpeakingResponder`.
    ``costs`` are charged only when ``compute_aware``; the scene's faults and
    ``faults`` always apply. The session's tasks are the scene's; its pacing is real
    time, so await this on a :class:`~audiointeract.simulators.VirtualTimeLoop` (as :func:`run_simulation` does)
    unless you want to wait for the scene in real time. Without ``config`` the session runs no echo
    canceller: a rendered scene never holds the agent's own voice.
    """
    clock = clock or LoopClock()
    base = config or SessionConfig(echo=None)
    config = attrs.evolve(base, tasks=scene.tasks, pacing=Pacing.REALTIME)
    rate, chunk = config.audio.sample_rate, config.audio.chunk_seconds
    samples = audio if audio is not None else render(scene, seed=seed, sample_rate=rate, bank=bank)
    perceiver = perceiver or ScriptedPerceiver(oracle_perceptions(scene, sound_hop=DEFAULT_SOUND_HOP))
    decider = decider or TaskRuleDecider()
    responder = responder or SpeakingResponder(sample_rate=rate, clock=clock)
    costs = costs or ComputeCosts()
    if compute_aware:
        perceiver, decider, responder = costed(perceiver, decider, responder, costs, seed=seed, clock=clock)
    plan = FaultPlan(faults=(*scene.faults, *(faults.faults if faults else ())))
    perceiver, decider, responder = plan.wrap(perceiver, decider, responder, clock=clock)
    session = Session(
        perceiver,
        decider,
        responder,
        config=config,
        clock=clock,
        observers=observers,
        recorder=RingRecorder(capacity=None),  # scoring needs every event of the (bounded) scene
        meta={
            "scene": scene.to_dict(),
            "seed": seed,
            "compute_aware": compute_aware,
            "costs": attrs.asdict(costs),
            "faults": [fault.to_dict() for fault in plan.faults],
            **(meta or {}),
        },
    )
    trace = await session.run(ArraySource(samples, rate, block_seconds=chunk))
    return SimulationResult(trace=trace, report=score(trace, scene), statistics=session.statistics())


def run_simulation(scene: Scene, **options: Any) -> SimulationResult:
    """:func:`simulate` on a fresh virtual-time loop (synchronous)."""

    async def main() -> SimulationResult:
        return await simulate(scene, **options)

    return run_virtual(main)

