"""Deterministic simulation: virtual time, scenes with ground truth, compute costs, metrics."""

from __future__ import annotations

from audiointeract.simulators.clock import VirtualTimeLoop, run_virtual, virtual_backend_options

__all__ = ["VirtualTimeLoop", "run_virtual", "virtual_backend_options"]
