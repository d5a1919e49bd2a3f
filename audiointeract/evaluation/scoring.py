"""The decision benchmark: policies on held-out generated scenes, real-recording scenes, labelled events.

(a) held-out generated episodes use the ``heldout`` template family, the vocabulary's
``test`` split and other seeds than training; (b) scene files built from real
recordings (every segment has a clip); (c) an events JSONL: each description becomes
a sound event in a short scene with an answer task and a safety task, and the policy
is right if it responds exactly when the row says RESPOND. All runs use the real
session on virtual time with oracle perception and no compute cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from audiointeract.events import Action, Decision, StandingTask
from audiointeract.interfaces import Decider
from audiointeract.simulators.files import load_scene
from audiointeract.simulators.metrics import Report
from audiointeract.simulators.run import run_simulation
from audiointeract.simulators.scene import Scene, Sound
from audiointeract.training.episodes import generate_episodes
from audiointeract.training.vocabulary import LabelledEvent, load_events

__all__ = [
    "EVENT_TASKS",
    "HELDOUT_SEED",
    "RULE_POLICIES",
    "EventScores",
    "TimingScores",
    "event_scenes",
    "heldout_scenes",
    "load_event_file",
    "policy_factory",
    "real_scenes",
    "score_events",
    "score_scenes",
]

HELDOUT_SEED = 424_242
TOLERANCES = (0.4, 0.8, 2.0)
EVENT_TASKS = (
    StandingTask(name="answer", instruction="Answer questions and requests addressed to you."),
    StandingTask(
        name="safety",
        instruction="Warn me about emergencies, hazards and safety-critical sounds.",
        proactive=True,
        priority=1,
    ),
)
DeciderFactory = Callable[[], Decider]


def heldout_scenes(count: int, *, events: Sequence[LabelledEvent], seed: int = HELDOUT_SEED) -> list[Scene]:
    """Set (a): generated episodes from the held-out templates and the vocabulary's test split."""
    return generate_episodes(count, seed=seed, family="heldout", events=[e for e in events if e.split == "test"])


def real_scenes(folder: str | Path) -> list[Scene]:
    """Set (b): every scene file in ``folder`` whose segments all play real recordings."""
    out = []
    for file in sorted(Path(folder).glob("*")):
        if file.suffix in (".toml", ".json"):
            scene = load_scene(file)
            if scene.segments and all(segment.clip for segment in scene.segments):
                out.append(scene)
    return out


def event_scenes(events: Sequence[LabelledEvent]) -> list[Scene]:
    """Set (c): one short scene per event, the description heard as a sound event."""
    return [
        Scene(
            segments=[Sound(start=1.0, duration=2.0, label=e.description, synth="noise")],
            tasks=EVENT_TASKS,
            name=e.id,
            tail=3.0,
        )
        for e in events
    ]


@attrs.frozen(kw_only=True)
class TimingScores:
    """Timing metrics summed over scenes (precision/recall/F1 per tolerance)."""

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tolerance keys as strings)."""
        out = attrs.asdict(self)
        for key in ("precision", "recall", "f1"):
            out[key] = {f"{tol:g}": value for tol, value in out[key].items()}
        return out


def _silent_audio(scene: Scene) -> np.ndarray[Any, Any]:
    # oracle perception reads the scene, not the samples: skip rendering
    return np.zeros(math.ceil(scene.duration * 16000), dtype=np.float32)


def _run(scene: Scene, factory: DeciderFactory, seed: int) -> Any:
    return run_simulation(scene, decider=factory(), compute_aware=False, seed=seed, audio=_silent_audio(scene))


def score_scenes(scenes: Sequence[Scene], factory: DeciderFactory, *, seed: int = 0) -> TimingScores:
    """Run a fresh decider on every scene and aggregate the reports."""
    reports: list[Report] = [_run(scene, factory, seed).report for scene in scenes]
    precision, recall, f1 = {}, {}, {}
    for tol in TOLERANCES:
        rows = [next(r for r in report.tolerances if math.isclose(r.tolerance, tol)) for report in reports]
        matched = sum(r.matched for r in rows)
        made = sum(r.responses for r in rows)
        expected = sum(r.expected for r in rows)
        precision[tol] = matched / made if made else 1.0
        recall[tol] = matched / expected if expected else 1.0
        total = precision[tol] + recall[tol]
        f1[tol] = 2 * precision[tol] * recall[tol] / total if total else 0.0
    loosest = [r.tolerances[-1] for r in reports]
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
    )


@attrs.frozen(kw_only=True)
class EventScores:
    """Decision accuracy on labelled events, with the majority-class baseline."""

    events: int
    accuracy: float
    respond_recall: float
    ignore_accuracy: float
    majority_baseline: float


def score_events(events: Sequence[LabelledEvent], factory: DeciderFactory, *, seed: int = 0) -> EventScores:
    """Run the policy on one scene per event; RESPOND anywhere in it counts as RESPOND."""
    said = []
    for scene in event_scenes(events):
        trace = _run(scene, factory, seed).trace
        said.append(any(d.action is Action.RESPOND for d in trace.of_type(Decision)))
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
    )


def load_event_file(path: str | Path) -> list[LabelledEvent]:
    """Events for set (c): every row of ``path`` (a user file) or the vocabulary's test split."""
    return load_events(path)


RULE_POLICIES = ("endpointing", "keyword", "sound-event", "semantic", "default")
"""Registry deciders compared against the learned policy by default."""


def policy_factory(policy: str) -> DeciderFactory:
    """A fresh-decider factory for a registry name or a checkpoint folder (inline compute, shared models)."""
    from audiointeract.registry import load_backend  # noqa: PLC0415 - keeps this module light

    if Path(policy).is_dir():
        from audiointeract.policies.learned.checkpoint import load_checkpoint  # noqa: PLC0415
        from audiointeract.policies.learned.decider import LearnedDecider  # noqa: PLC0415 - needs torch

        checkpoint = load_checkpoint(policy)
        return lambda: LearnedDecider(checkpoint, offload=False)
    if policy == "learned":
        from audiointeract.policies.learned.decider import LearnedDecider  # noqa: PLC0415 - needs torch

        checkpoint = LearnedDecider.default().checkpoint
        return lambda: LearnedDecider(checkpoint, offload=False)
    if policy == "semantic":
        from audiointeract.policies.embeddings import MINILM, shared_embedder  # noqa: PLC0415

        embedder = shared_embedder(MINILM, 384)
        return lambda: load_backend("decider", "semantic", offload=False, embedder=embedder)
    return lambda: load_backend("decider", policy)
