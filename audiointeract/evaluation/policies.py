"""Which policies the evaluation runs: registry names, checkpoint folders or decider factories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from audiointeract.interfaces import Decider

__all__ = ["SHIPPED_POLICIES", "DeciderFactory", "Policy", "policy_factory"]

DeciderFactory: TypeAlias = Callable[[], Decider]
Policy: TypeAlias = str | Path | DeciderFactory
"""A decider registry name, a learned-policy checkpoint folder, or a factory of fresh deciders."""

SHIPPED_POLICIES = ("default", "learned", "sound-meaning", "endpointing", "keyword", "sound-event", "semantic")
"""The registry deciders compared by default: the rule default, the learned policy and the other rule policies."""


def policy_factory(policy: Policy) -> DeciderFactory:
    """A factory of fresh deciders (inline compute, models loaded once and shared between them)."""
    from audiointeract.registry import load_backend  # noqa: PLC0415 - keeps this module light

    if callable(policy):
        return policy
    if Path(policy).is_dir():
        from audiointeract.policies.learned.checkpoint import load_checkpoint  # noqa: PLC0415
        from audiointeract.policies.learned.decider import LearnedDecider  # noqa: PLC0415 - needs torch

        checkpoint = load_checkpoint(policy)
        return lambda: LearnedDecider(checkpoint, offload=False)
    name = str(policy)
    if name == "learned":
        from audiointeract.policies.learned.decider import LearnedDecider  # noqa: PLC0415 - needs torch

        shipped = LearnedDecider.default().checkpoint
        return lambda: LearnedDecider(shipped, offload=False)
    if name == "semantic":
        from audiointeract.policies.embeddings import MINILM, shared_embedder  # noqa: PLC0415

        embedder = shared_embedder(MINILM, 384)
        return lambda: load_backend("decider", "semantic", offload=False, embedder=embedder)
    load_backend("decider", name)  # fail now, with the registry's message, on an unknown name
    return lambda: load_backend("decider", name)
