"""The learned policy's network: per-step feature rows -> a GRU -> respond/interrupt logits.

Each (stream, standing task) pair is one sequence. The three embedding blocks are
projected to ``proj`` dimensions; the text and sound projections are also multiplied
element-wise with the task projection (so a task "warn me about X" can match what was
heard). A prototype memory adds nearest-neighbour evidence: the best cosine of the
heard sound to labelled RESPOND and IGNORE event descriptions, and of the transcript to
utterances that did and did not call for an answer in training, ignoring identical
entries so training examples do not find themselves (leave-one-out). Everything goes
through a small MLP into a GRU whose state carries the stream, so one step costs O(1)
however long the session runs.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import nn

from audiointeract.errors import CheckpointError
from audiointeract.policies.learned.features import FeatureSpec

__all__ = ["OUTPUTS", "DecisionNet", "ModelShape"]

OUTPUTS: tuple[str, ...] = ("respond", "interrupt")
PROTOTYPES: tuple[str, ...] = ("sound_respond", "sound_ignore", "text_respond", "text_ignore")
"""The prototype sets: (block, kind) pairs compared by best cosine."""
_SELF_MATCH = 0.999


@attrs.frozen(kw_only=True)
class ModelShape:
    """Sizes of the network (stored in the checkpoint next to the feature spec)."""

    proj: int = 32
    hidden: int = 64
    dropout: float = 0.0
    prototypes: dict[str, int] = attrs.field(factory=dict)
    """How many rows each prototype set holds (missing or 0: unused)."""

    @classmethod
    def from_dict(cls, data: Any) -> ModelShape:
        """Read stored sizes."""
        try:
            shape = cls(**data)
        except TypeError as exc:
            raise CheckpointError(f"malformed model shape {data!r}: {exc}") from exc
        if set(shape.prototypes) - set(PROTOTYPES) or min(shape.prototypes.values(), default=0) < 0:
            raise CheckpointError(f"prototype sets must be among {list(PROTOTYPES)}, got {shape.prototypes}")
        if shape.proj < 1 or shape.hidden < 1 or not 0.0 <= shape.dropout < 1.0:
            raise CheckpointError(f"model sizes must be positive, got {shape}")
        return shape


class DecisionNet(nn.Module):
    """Causal per-step scorer: ``forward`` over whole sequences, ``step`` one row at a time."""

    def __init__(self, spec: FeatureSpec, shape: ModelShape, prototypes: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.shape = shape
        dim, proj = spec.embed_dim, shape.proj
        for name in PROTOTYPES:
            given = (prototypes or {}).get(name)
            rows = given if given is not None else torch.zeros(shape.prototypes.get(name, 0), dim)
            if tuple(rows.shape) != (shape.prototypes.get(name, 0), dim):
                msg = f"prototype set {name} has shape {tuple(rows.shape)}, the model shape says {shape.prototypes}"
                raise CheckpointError(msg)
            self.register_buffer(f"proto_{name}", rows.float().contiguous())
        self.text = nn.Linear(dim, proj)
        self.sound = nn.Linear(dim, proj)
        self.task = nn.Linear(dim, proj)
        mixed = 5 * proj + len(spec.scalars) + len(PROTOTYPES)
        self.mix = nn.Sequential(nn.Linear(mixed, shape.hidden), nn.ReLU(), nn.Dropout(shape.dropout))
        self.gru = nn.GRU(shape.hidden, shape.hidden, batch_first=True)
        self.head = nn.Linear(2 * shape.hidden, len(OUTPUTS))

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        dim = self.spec.embed_dim
        text = self.text(x[..., :dim])
        sound = self.sound(x[..., dim : 2 * dim])
        task = torch.tanh(self.task(x[..., 2 * dim : 3 * dim]))
        scalars = x[..., 3 * dim :]
        nearest = [
            self._nearest(x[..., block * dim : (block + 1) * dim], name)
            for block, name in ((1, "sound_respond"), (1, "sound_ignore"), (0, "text_respond"), (0, "text_ignore"))
        ]
        parts = [text, sound, task, text * task, sound * task, scalars, *nearest]
        mixed: torch.Tensor = self.mix(torch.cat(parts, dim=-1))
        return mixed

    def _nearest(self, rows: torch.Tensor, name: str) -> torch.Tensor:
        memory: torch.Tensor = getattr(self, f"proto_{name}")
        if memory.shape[0] == 0:
            return rows.new_zeros((*rows.shape[:-1], 1))
        cosines = rows @ memory.T
        # leave-one-out: an identical entry (the example itself, in training) is no evidence
        cosines = torch.where(cosines > _SELF_MATCH, torch.full_like(cosines, -1.0), cosines)
        return cosines.amax(dim=-1, keepdim=True)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: [batch, time, width] -> logits [batch, time, outputs] and the final state."""
        encoded = self._encode(x)
        out, state = self.gru(encoded, state)
        return self.head(torch.cat([out, encoded], dim=-1)), state

    def step(self, x: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: [batch, width] -> logits [batch, outputs] and the next state (one step)."""
        logits, state = self.forward(x[:, None, :], state)
        return logits[:, 0, :], state
