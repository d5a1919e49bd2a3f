"""Score a policy on scenes (timing metrics) and on labelled events (decision accuracy).

Every run is the real session on virtual time with the simulator's speaking responder.
Perception is the oracle (what the scene file says is heard) unless recorded real
perception is passed in (:mod:`~audiointeract.evaluation.perception`). Times are on the
stream axis: seconds of audio from the start of the scene; a decision made at stream
time ``t`` was made once the audio up to ``t`` had been heard (and, with
``charge_compute=True``, after the recorded perception compute was paid on top).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from audiointeract.audio import FloatArray
from audiointeract.errors import ConfigurationError
from audiointeract.evaluation.perception import PerceptionRecording, ReplayPerceiver
from audiointeract.evaluation.policies import DeciderFactory, Policy, policy_factory
from audiointeract.events import Action, Decision, StandingTask
from audiointeract.simulators.metrics import Report
from audiointeract.simulators.run import SimulationResult, run_simulation
from audiointeract.simulators.scene import Scene, Sound
from audiointeract.training.vocabulary import LabelledEvent

__all__ = [
    "EVENT_TASKS",
    "TOLERANCES",
    "EventScores",
    "Progress",
    "SceneScore",
    "TimingScores",
    "event_scenes",
    "score_events",
    "score_scenes",
]

TOLERANCES = (0.4, 0.8, 2.0)
"""Timing tolerances (seconds after an expected window closes) the scores are given at."""
EVENT_TASKS = (
    StandingTask(name="answer", instruction="Answer questions and requests addressed to you."),
    StandingTask(
        name="safety",
        instruction="Warn me about emergencies, hazards and safety-critical sounds.",
        proactive=True,
        priority=1,
    ),
)
Progress = Callable[[str], None]
"""Called with the name of each scene or event once it is scored."""


@attrs.frozen(kw_only=True)
class SceneScore:
    """One scene's counts at the loosest tolerance (2.0 s)."""

    name: str
    expected: int
    responses: int
    matched: int
    false_triggers: int


@attrs.frozen(kw_only=True)
class TimingScores:
    """Timing metrics summed over scenes: precision/recall/F1 per tolerance, false triggers, latency.

    ``false_triggers_per_hour`` divides the responses that match no expected window by the
    hours of audio outside every window (plus the loosest tolerance). Latency is stream
    time from the end of the evidence (a question's last word, a sound's onset) to the
    RESPOND decision, over the matched responses.
    """

    scenes: int
    expected: int
    responses: int
    precision: dict[float, float]
    recall: dict[float, float]
    f1: dict[float, float]
    false_triggers: int
    false_triggers_per_hour: float
    latency_p50: float | None
    latency_p95: float | None
    audio_hours: float
    quiet_hours: float
    per_scene: tuple[SceneScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tolerance keys as strings)."""
        out = attrs.asdict(self)
        for key in ("precision", "recall", "f1"):
            out[key] = {f"{tol:g}": value for tol, value in out[key].items()}
        return out


def _silent_audio(scene: Scene) -> FloatArray:
    # oracle perception reads the scene, not the samples: skip rendering
    return np.zeros(math.ceil(scene.duration * 16000), dtype=np.float32)


def _run(
    scene: Scene,
    factory: DeciderFactory,
    *,
    seed: int,
    recording: PerceptionRecording | None,
    charge_compute: bool,
) -> SimulationResult:
    if recording is None:
        return run_simulation(scene, decider=factory(), compute_aware=False, seed=seed, audio=_silent_audio(scene))
    # the recorded perception replays chunk by chunk; the audio itself is no longer needed
    return run_simulation(
        scene,
        decider=factory(),
        perceiver=ReplayPerceiver(recording, charge_compute=charge_compute),
        compute_aware=False,
        seed=seed,
        audio=_silent_audio(scene),
    )


def score_scenes(
    scenes: Sequence[Scene],
    policy: Policy,
    *,
    perception: Mapping[str, PerceptionRecording] | None = None,
    charge_compute: bool = False,
    seed: int = 0,
    progress: Progress | None = None,
) -> TimingScores:
    """Run a fresh decider of ``policy`` on every scene and sum the timing metrics.

    ``perception`` maps scene names to recorded real perception (see
    :func:`~audiointeract.evaluation.record_perception`); without it perception is the
    oracle. ``charge_compute`` makes each chunk wait its recorded perception compute
    (wall seconds on the recording machine), so latency includes it.
    """
    factory = policy_factory(policy)
    reports: list[Report] = []
    for scene in scenes:
        recording = None
        if perception is not None:
            recording = perception.get(scene.name)
            if recording is None:
                raise ConfigurationError(f"no recorded perception for scene {scene.name!r}")
        reports.append(_run(scene, factory, seed=seed, recording=recording, charge_compute=charge_compute).report)
        if progress is not None:
            progress(scene.name)
    return _sum(reports)


def _sum(reports: Sequence[Report]) -> TimingScores:
    precision, recall, f1 = {}, {}, {}
    for tol in TOLERANCES:
        rows = [report.at(tol) for report in reports]
        matched = sum(r.matched for r in rows)
        made = sum(r.responses for r in rows)
        expected = sum(r.expected for r in rows)
        precision[tol] = matched / made if made else 1.0
        recall[tol] = matched / expected if expected else 1.0
        total = precision[tol] + recall[tol]
        f1[tol] = 2 * precision[tol] * recall[tol] / total if total else 0.0
    loosest = [report.at(TOLERANCES[-1]) for report in reports]
    false = sum(r.false_triggers for r in loosest)
    quiet = sum(r.quiet_hours for r in reports)
    latencies = [x.decision_latency for r in reports for x in r.expectations if x.decision_latency is not None]
    return TimingScores(
        scenes=len(reports),
        expected=sum(r.expected for r in loosest),
        responses=sum(r.responses for r in loosest),
        precision=precision,
        recall=recall,
        f1=f1,
        false_triggers=false,
        false_triggers_per_hour=false / quiet if quiet > 0 else 0.0,
        latency_p50=float(np.percentile(latencies, 50)) if latencies else None,
        latency_p95=float(np.percentile(latencies, 95)) if latencies else None,
        audio_hours=sum(r.duration for r in reports) / 3600,
        quiet_hours=quiet,
        per_scene=tuple(
            SceneScore(
                name=report.scene,
                expected=row.expected,
                responses=row.responses,
                matched=row.matched,
                false_triggers=row.false_triggers,
            )
            for report, row in zip(reports, loosest, strict=True)
        ),
    )


@attrs.frozen(kw_only=True)
class EventScores:
    """Decision accuracy on labelled events, with the majority-class baseline."""

    events: int
    accuracy: float
    respond_recall: float
    ignore_accuracy: float
    majority_baseline: float
    wrong: tuple[str, ...] = ()
    """Ids of the events the policy got wrong."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return attrs.asdict(self)


def event_scenes(events: Sequence[LabelledEvent]) -> list[Scene]:
    """One short scene per event: its description heard as a sound event, with an answer and a safety task."""
    return [
        Scene(
            segments=[Sound(start=1.0, duration=2.0, label=e.description, synth="noise")],
            tasks=EVENT_TASKS,
            name=e.id,
            tail=3.0,
        )
        for e in events
    ]


def score_events(
    events: Sequence[LabelledEvent], policy: Policy, *, seed: int = 0, progress: Progress | None = None
) -> EventScores:
    """Run the policy on one scene per event; RESPOND anywhere in it counts as RESPOND."""
    factory = policy_factory(policy)
    said = []
    for event, scene in zip(events, event_scenes(events), strict=True):
        trace = _run(scene, factory, seed=seed, recording=None, charge_compute=False).trace
        said.append(any(d.action is Action.RESPOND for d in trace.of_type(Decision)))
        if progress is not None:
            progress(event.id)
    truth = [e.respond for e in events]
    right = [s == t for s, t in zip(said, truth, strict=True)]
    respond = [r for r, t in zip(right, truth, strict=True) if t]
    ignore = [r for r, t in zip(right, truth, strict=True) if not t]
    majority = max(sum(truth), len(truth) - sum(truth)) / len(truth) if truth else 0.0
    return EventScores(
        events=len(events),
        accuracy=sum(right) / len(right) if right else 0.0,
        respond_recall=sum(respond) / len(respond) if respond else 0.0,
        ignore_accuracy=sum(ignore) / len(ignore) if ignore else 0.0,
        majority_baseline=majority,
        wrong=tuple(e.id for e, ok in zip(events, right, strict=True) if not ok),
    )
