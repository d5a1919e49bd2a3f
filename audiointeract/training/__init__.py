"""Training a streaming decision policy from simulated episodes (the ``train`` extra).

Importing this package is cheap; torch loads only with the modules that need it
(:mod:`~audiointeract.training.model`, :mod:`~audiointeract.training.loop`,
:mod:`~audiointeract.training.checkpoint`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "DEFAULT_CHECKPOINT", "DEFAULT_CONFIG", "EVENTS_FILE", "REAL_SCENES"]

_HERE = Path(__file__).resolve().parent
DATA_DIR = _HERE / "data"
EVENTS_FILE = DATA_DIR / "events.jsonl"
REAL_SCENES = DATA_DIR / "real_scenes"
DEFAULT_CONFIG = _HERE / "configs" / "default.toml"
DEFAULT_CHECKPOINT = _HERE / "checkpoints" / "default"
