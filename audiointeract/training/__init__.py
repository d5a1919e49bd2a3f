"""Training a streaming decision policy from simulated episodes (the ``train`` extra).

Training builds on the learned policy's run-time parts in :mod:`audiointeract.policies.learned`
(features, network, checkpoint format) and on the simulator; neither imports this package.
Importing it is cheap; torch loads only with :mod:`~audiointeract.training.loop`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "DEFAULT_CONFIG", "EVENTS_FILE"]

_HERE = Path(__file__).resolve().parent
DATA_DIR = _HERE / "data"
EVENTS_FILE = DATA_DIR / "events.jsonl"
DEFAULT_CONFIG = _HERE / "configs" / "default.toml"
