"""Deterministic simulation: virtual time, scenes with ground truth, compute costs, metrics."""

from __future__ import annotations

from audiointeract.simulators.clips import ClipBank, default_bank
from audiointeract.simulators.clock import VirtualTimeLoop, run_virtual, virtual_backend_options
from audiointeract.simulators.files import load_scene, save_scene, scene_from_mapping
from audiointeract.simulators.oracle import oracle_perceptions, word_timings
from audiointeract.simulators.render import render
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
    "Anchor",
    "ClipBank",
    "Expect",
    "Expectation",
    "NoiseBed",
    "Scene",
    "Segment",
    "Silence",
    "Sound",
    "Speech",
    "VirtualTimeLoop",
    "default_bank",
    "label_time",
    "load_scene",
    "oracle_perceptions",
    "render",
    "run_virtual",
    "save_scene",
    "scene_from_mapping",
    "virtual_backend_options",
    "word_timings",
]
