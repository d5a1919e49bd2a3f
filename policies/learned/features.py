"""Per-step features for the learned policy, computed the same way in training and at run time.

:class:`StreamFeatures` is a small streaming state machine: fed the perceptions of
one decision point (plus whether the agent is speaking and the stream time heard),
it returns one feature row per standing task: the embedding of the recent committed
transcript, of the sound labels just heard and of the task, followed by the scalars
named in :data:`SCALARS`. The layout is described by a :class:`FeatureSpec`, which
checkpoints store so a model is never fed features it was not trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from audiointeract.conversation import UserTurn
from audiointeract.errors import CheckpointError
from audiointeract.events import Perception, SoundEvent, SpeechActivity, StandingTask, TranscriptUpdate
from audiointeract.policies.embeddings import CachedEmbedder, Matrix

__all__ = ["BLOCKS", "FEATURE_VERSION", "SCALARS", "FeatureSpec", "StepFeatures", "StreamFeatures"]

FEATURE_VERSION = 2
SCALARS: tuple[str, ...] = (
    "user_speaking",
    "speech_ended",
    "silence",
    "new_words",
    "buffer_words",
    "agent_speaking",
    "since_response",
    "sound_score",
    "text_task_cosine",
    "sound_task_cosine",
    "task_proactive",
    "ends_incomplete",
    "ends_question",
)
INCOMPLETE_ENDINGS = frozenset(
    {
        "to",
        "on",
        "for",
        "and",
        "or",
        "but",
        "the",
        "a",
        "an",
        "of",
        "at",
        "with",
        "from",
        "in",
        "into",
        "that",
        "be",
        "is",
        "are",
        "was",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "about",
        "than",
        "if",
        "because",
        "so",
        "as",
        "by",
    }
)
"""Closed-class words that rarely end a finished turn ("remind me to call ... my mother")."""
BLOCKS: tuple[str, ...] = ("text", "sound", "task")


@attrs.frozen(kw_only=True)
class FeatureSpec:
    """What a feature row holds: three embedding blocks of ``embed_dim`` then the scalars.

    ``max_silence`` and ``max_since_response`` (seconds) scale those scalars to
    [0, 1]; ``buffer_words`` bounds the transcript window; a silence longer than
    ``reset_after`` seconds clears it.
    """

    embedder: str
    embed_dim: int
    scalars: tuple[str, ...] = attrs.field(default=SCALARS, converter=tuple)
    version: int = FEATURE_VERSION
    buffer_words: int = 24
    reset_after: float = 1.5
    max_silence: float = 3.0
    max_since_response: float = 10.0

    @property
    def width(self) -> int:
        """Length of one feature row."""
        return len(BLOCKS) * self.embed_dim + len(self.scalars)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored in a checkpoint's ``config.json``."""
        out = attrs.asdict(self)
        out["scalars"] = list(self.scalars)
        out["blocks"] = list(BLOCKS)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Read a stored spec, refusing one this code cannot compute."""
        try:
            spec = cls(**{key: value for key, value in data.items() if key != "blocks"})
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"malformed feature spec: {exc}") from exc
        if spec.version != FEATURE_VERSION:
            raise CheckpointError(f"feature spec version {spec.version} does not match this code's {FEATURE_VERSION}")
        if tuple(data.get("blocks", BLOCKS)) != BLOCKS:
            raise CheckpointError(f"feature blocks {data.get('blocks')} do not match this code's {list(BLOCKS)}")
        if spec.scalars != SCALARS:
            raise CheckpointError(
                f"feature scalars {list(spec.scalars)} do not match the ones this code computes {list(SCALARS)}"
            )
        return spec


@attrs.frozen(kw_only=True, eq=False)
class StepFeatures:
    """One decision point's features: shared text and sound blocks, per-task rows and scalars.

    The ``*_key`` strings identify the embedded inputs, so a training set can store
    each distinct embedding once.
    """

    text_key: str
    text: Matrix
    sound_key: str
    sound: Matrix
    instructions: tuple[str, ...]
    task_rows: Matrix
    scalars: Matrix

    def rows(self) -> Matrix:
        """The model input: one row per task, ``[text | sound | task | scalars]``."""
        count = len(self.instructions)
        return np.concatenate(
            [np.tile(self.text, (count, 1)), np.tile(self.sound, (count, 1)), self.task_rows, self.scalars], axis=1
        ).astype(np.float32, copy=False)


class StreamFeatures:
    """Streaming feature state for one session (or one training episode)."""

    def __init__(self, spec: FeatureSpec, embedder: CachedEmbedder) -> None:
        if embedder.dim != spec.embed_dim or embedder.name != spec.embedder:
            raise CheckpointError(
                f"feature spec wants embedder {spec.embedder!r} ({spec.embed_dim}-d), "
                f"got {embedder.name!r} ({embedder.dim}-d)"
            )
        self.spec = spec
        self.embedder = embedder
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        # The transcript window is one long user turn, open from the start so every committed
        # word counts; it keeps the newest `buffer_words`, and a response or a long silence
        # forgets them.
        self._turn = UserTurn(open=True, max_words=self.spec.buffer_words)
        self._last_response: float | None = None

    def note_response(self, at: float) -> None:
        """The policy responded at stream time ``at``: what was heard has been answered."""
        self._last_response = at
        self._turn.forget_text()

    def transcript(self) -> str:
        """The transcript window the text block embeds."""
        return " ".join(self._turn.committed_words)

    def step(
        self,
        perceptions: Sequence[Perception],
        *,
        heard_until: float,
        agent_speaking: bool,
        tasks: Sequence[StandingTask],
    ) -> StepFeatures:
        """Fold in one decision point's perceptions and describe the stream for every task."""
        spec = self.spec
        ended = any(isinstance(p, SpeechActivity) and not p.speaking for p in perceptions)
        new_words = sum(len(p.committed.split()) for p in perceptions if isinstance(p, TranscriptUpdate))
        sounds = [p for p in perceptions if isinstance(p, SoundEvent)]
        self._turn.absorb(perceptions)
        silence = self._silence(heard_until)
        if silence > spec.reset_after and not new_words:
            self._turn.forget_text()
        words = self._turn.committed_words
        text_key = " ".join(words)
        text = self.embedder.one(text_key)
        sound_key = "|".join(f"{s.label}@{s.score:.3f}" for s in sounds)
        sound, score = self._sound(sounds)
        since = (
            1.0
            if self._last_response is None
            else min(1.0, (heard_until - self._last_response) / spec.max_since_response)
        )
        common = [
            float(self._turn.speaking),
            float(ended),
            min(1.0, silence / spec.max_silence),
            min(1.0, new_words / 4.0),
            min(1.0, len(words) / spec.buffer_words),
            float(agent_speaking),
            since,
            score,
        ]
        last = words[-1].lower() if words else ""
        ending = [
            float(last.strip(".,!?;:'\"") in INCOMPLETE_ENDINGS and last[-1:] not in ".?!"),
            float(last.endswith("?")),
        ]
        instructions = tuple(task.instruction for task in tasks)
        task_rows = self.embedder.embed(instructions)
        scalars = np.asarray(
            [
                [*common, float(text @ row), float(sound @ row), float(task.proactive), *ending]
                for task, row in zip(tasks, task_rows, strict=True)
            ],
            dtype=np.float32,
        ).reshape(len(tasks), len(spec.scalars))
        return StepFeatures(
            text_key=text_key,
            text=text,
            sound_key=sound_key,
            sound=sound,
            instructions=instructions,
            task_rows=task_rows,
            scalars=scalars,
        )

    def _silence(self, heard_until: float) -> float:
        if self._turn.speaking:
            return 0.0
        # measured from the VAD's speech ends only (without VAD the turn dates its words instead)
        speech_end = self._turn.speech_end if self._turn.uses_vad else None
        if speech_end is None:
            return self.spec.max_silence if heard_until > 0 else 0.0
        return max(0.0, heard_until - speech_end)

    def _sound(self, sounds: Sequence[SoundEvent]) -> tuple[Matrix, float]:
        if not sounds:
            return np.zeros(self.spec.embed_dim, dtype=np.float32), 0.0
        rows = self.embedder.embed([s.label for s in sounds])
        weights = np.asarray([s.score for s in sounds], dtype=np.float32)
        mixed = (weights[:, None] * rows).sum(axis=0)
        norm = float(np.linalg.norm(mixed))
        return (mixed / norm if norm > 0 else mixed).astype(np.float32), float(weights.max())
