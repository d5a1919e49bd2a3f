"""Measure decision policies on frozen sets, with real perception beside the oracle.

::

    from audiointeract.evaluation import (
        dense_scenes, evaluation_bank, held_out_events, real_scenes, record_perception,
        score_events, score_scenes, sparse_scenes,
    )

    events = score_events(held_out_events(), "default")              # EventScores
    print(events.accuracy, events.respond_recall, events.ignore_accuracy)

    real = real_scenes().scenes                                       # frozen real-recording scenes
    oracle = score_scenes(real, "learned")                            # TimingScores, oracle perception
    heard = record_perception(real, bank=evaluation_bank())           # embedded perception, once
    measured = score_scenes(real, "learned", perception=heard)        # same scenes, real perception
    print(oracle.f1[0.8], measured.f1[0.8], measured.false_triggers_per_hour)

A policy is a decider registry name, a learned-policy checkpoint folder or a factory of
fresh deciders. Every run is the real session on virtual time; see
:mod:`~audiointeract.evaluation.scoring` for the metrics and their time axis and
:mod:`~audiointeract.evaluation.sets` for the sets. ``audiointeract evaluate`` is the
command-line front end.
"""

from __future__ import annotations

from audiointeract.evaluation.clips import animal_sounds, evaluation_bank
from audiointeract.evaluation.perception import (
    ComputeSummary,
    PerceptionRecording,
    ReplayPerceiver,
    embedded_perceiver,
    record_perception,
)
from audiointeract.evaluation.policies import SHIPPED_POLICIES, DeciderFactory, Policy, policy_factory
from audiointeract.evaluation.scoring import (
    EVENT_TASKS,
    TOLERANCES,
    EventScores,
    SceneScore,
    TimingScores,
    event_scenes,
    score_events,
    score_scenes,
)
from audiointeract.evaluation.sets import (
    DATA_DIR,
    DENSE_SEED,
    REAL_SCENES,
    SPARSE_SCENES,
    TEST_EVENTS,
    SceneSet,
    SkippedScene,
    dense_scenes,
    held_out_events,
    load_scenes,
    real_scenes,
    sparse_scenes,
)

__all__ = [
    "DATA_DIR",
    "DENSE_SEED",
    "EVENT_TASKS",
    "REAL_SCENES",
    "SHIPPED_POLICIES",
    "SPARSE_SCENES",
    "TEST_EVENTS",
    "TOLERANCES",
    "ComputeSummary",
    "DeciderFactory",
    "EventScores",
    "PerceptionRecording",
    "Policy",
    "ReplayPerceiver",
    "SceneScore",
    "SceneSet",
    "SkippedScene",
    "TimingScores",
    "animal_sounds",
    "dense_scenes",
    "embedded_perceiver",
    "evaluation_bank",
    "event_scenes",
    "held_out_events",
    "load_scenes",
    "policy_factory",
    "real_scenes",
    "record_perception",
    "score_events",
    "score_scenes",
    "sparse_scenes",
]
