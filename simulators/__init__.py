"""Deterministic simulation: virtual time, scenes with ground truth, compute costs, faults, metrics.

Import what you need from here; nothing heavy loads (scipy only when rendering
noise or resampling clips).
"""

from __future__ import annotations

from audiointeract.simulators.agents import SpeakingResponder, TaskRuleDecider
from audiointeract.simulators.clips import ClipBank, default_bank
from audiointeract.simulators.clock import VirtualTimeLoop, run_virtual, virtual_backend_options
from audiointeract.simulators.compute import (
    ComputeCosts,
    CostedDecider,
    CostedPerceiver,
    CostedResponder,
    CostModel,
    costed,
)
from audiointeract.simulators.faults import Fault, FaultPlan
from audiointeract.simulators.files import load_scene, save_scene, scene_from_mapping
from audiointeract.simulators.metrics import (
    TOLERANCES,
    LatencyStats,
    ReplySpan,
    Report,
    ToleranceScore,
    match,
    reply_spans,
    responses,
    score,
)
from audiointeract.simulators.oracle import oracle_perceptions, word_timings
from audiointeract.simulators.render import render
from audiointeract.simulators.run import SimulationResult, run_simulation, simulate
from audiointeract.simulators.scene import (
    Anchor,
    Expect,
    Expectation,
    NoiseBed,
    Scene,
    Segment,
    Silence,
    Sound,
    Speech,
    label_time,
)

__all__ = [
    "TOLERANCES",
    "Anchor",
    "ClipBank",
    "ComputeCosts",
    "CostModel",
    "CostedDecider",
    "CostedPerceiver",
    "CostedResponder",
    "Expect",
    "Expectation",
    "Fault",
    "FaultPlan",
    "LatencyStats",
    "NoiseBed",
    "ReplySpan",
    "Report",
    "Scene",
    "Segment",
    "Silence",
    "SimulationResult",
    "Sound",
    "SpeakingResponder",
    "Speech",
    "TaskRuleDecider",
    "ToleranceScore",
    "VirtualTimeLoop",
    "costed",
    "default_bank",
    "label_time",
    "load_scene",
    "match",
    "oracle_perceptions",
    "render",
    "reply_spans",
    "responses",
    "run_simulation",
    "run_virtual",
    "save_scene",
    "scene_from_mapping",
    "score",
    "simulate",
    "virtual_backend_options",
    "word_timings",
]
