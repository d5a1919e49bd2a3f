"""The learned streaming policy and what it needs at run time: features, network, checkpoint format.

* :mod:`~audiointeract.policies.learned.decider` — :class:`LearnedDecider`, the Decider;
* :mod:`~audiointeract.policies.learned.features` — the per-step feature rows (numpy);
* :mod:`~audiointeract.policies.learned.model` — the network (torch);
* :mod:`~audiointeract.policies.learned.checkpoint` — reading and writing checkpoint folders;
* ``default_checkpoint/`` — the checkpoint shipped with the package (:data:`DEFAULT_CHECKPOINT`).

Training (:mod:`audiointeract.training`) builds on these modules; nothing here imports it.
Importing this package is cheap: torch loads with the decider, the model or the checkpoint module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiointeract._lazy import lazy_exports

__all__ = ["DEFAULT_CHECKPOINT", "LearnedDecider"]

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "default_checkpoint"
"""The checkpoint folder shipped with the package (trained by ``audiointeract/training/configs/default.toml``)."""

_getattr, _dir = lazy_exports(__name__, {"LearnedDecider": "audiointeract.policies.learned.decider"})


def __getattr__(name: str) -> Any:
    return _getattr(name)


def __dir__() -> list[str]:
    return sorted([*_dir(), "DEFAULT_CHECKPOINT"])
