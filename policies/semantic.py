"""Semantic triggers: standing tasks in plain words matched against what is heard, by sentence embeddings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import anyio.to_thread
import numpy as np

from audiointeract.audio import FloatArray
from audiointeract.errors import ConfigurationError
from audiointeract.events import (
    Action,
    Decision,
    Perception,
    SoundEvent,
    SpeechActivity,
    StandingTask,
    TranscriptUpdate,
)
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import check_flag, check_non_negative, check_unit
from audiointeract.policies.cooldown import Cooldown
from audiointeract.policies.embeddings import MINILM, TextEmbedder, load_now, shared_embedder

__all__ = ["SemanticPolicy"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class SemanticPolicy(Decider):
    """RESPOND when a new sentence or sound label means what a standing task asks for.

    Each task's instruction ("warn me if someone mentions the budget") is embedded once;
    each new committed sentence (split at ``. ! ?``, at the end of a speech run, or
    after ``max_words`` words) and, with ``sounds``, each sound-event label scoring at
    least ``min_sound_score`` (as ``"sound: <label>"``, re-armed after ``rearm`` s) is
    embedded and compared by cosine. The best match at or above its task's threshold
    (``thresholds[name]``, else ``threshold``) wins, higher task priority first. While
    the agent speaks a match waits (for at most ``hold`` s).

    ``tasks`` maps names to instructions (or is a sequence of StandingTask); None
    serves the session's standing tasks except the first non-proactive one (the
    conversation, which endpointing answers). The embedder defaults to the process's
    shared, cached all-MiniLM-L6-v2 (:func:`~audiointeract.policies.embeddings.shared_embedder`);
    ``offload`` runs it in a worker thread (turn it off on virtual time).
    Names are better served by :class:`~audiointeract.policies.KeywordPolicy`.
    """

    name = "semantic"

    def __init__(
        self,
        tasks: Mapping[str, str] | Sequence[StandingTask] | None = None,
        *,
        threshold: float = 0.4,
        thresholds: Mapping[str, float] | None = None,
        sounds: bool = True,
        min_sound_score: float = 0.3,
        rearm: float = 10.0,
        hold: float = 5.0,
        max_words: int = 30,
        embedder: TextEmbedder | None = None,
        offload: bool = True,
    ) -> None:
        self.tasks = _as_tasks(tasks)
        self.threshold = check_unit("SemanticPolicy", "threshold", threshold)
        if thresholds is not None and not isinstance(thresholds, Mapping):
            raise ConfigurationError(f"SemanticPolicy: thresholds must map task names to numbers, got {thresholds!r}")
        self.thresholds = {
            name: check_unit("SemanticPolicy", f"thresholds[{name!r}]", value)
            for name, value in (thresholds or {}).items()
        }
        if self.tasks is not None:
            unknown = sorted(set(self.thresholds) - {task.name for task in self.tasks})
            if unknown:
                raise ConfigurationError(f"SemanticPolicy: thresholds name unknown tasks {unknown}")
        self.sounds = check_flag("SemanticPolicy", "sounds", sounds)
        self.min_sound_score = check_unit("SemanticPolicy", "min_sound_score", min_sound_score)
        self.rearm = check_non_negative("SemanticPolicy", "rearm", rearm)
        self.hold = check_non_negative("SemanticPolicy", "hold", hold)
        if isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1:
            raise ConfigurationError(f"SemanticPolicy: max_words must be an int >= 1, got {max_words!r}")
        self.max_words = max_words
        self.embedder: TextEmbedder = embedder or shared_embedder(MINILM, 384)
        self.offload = check_flag("SemanticPolicy", "offload", offload)
        self._vectors: dict[str, FloatArray] = {}
        self._partial = ""
        self._partial_evidence: list[Perception] = []
        self._quiet = Cooldown(self.rearm)  # a sound label re-arms after `rearm` s without hearing it
        self._pending: tuple[StandingTask, str, float, tuple[Perception, ...], float] | None = None

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Embed what is new, compare it with every task, respond to (or hold) the best match."""
        tasks = self.tasks if self.tasks is not None else _session_tasks(context)
        items = self._new_items(perceptions)
        if tasks and items:
            best = await self._best_match(tasks, items)
            if best is not None:
                self._pending = (*best, context.heard_until)
        if self._pending is None:
            return Decision.silent()
        task, text, similarity, evidence, found_at = self._pending
        if context.heard_until - found_at > self.hold:
            self._pending = None
            return Decision.silent(f"match for {task.name!r} went stale while the agent spoke")
        if context.agent_speaking:
            return Decision.silent(f"holding a match for {task.name!r} until the agent stops")
        self._pending = None
        return Decision(
            action=Action.RESPOND,
            task=task.name,
            evidence=evidence,
            score=min(1.0, max(0.0, similarity)),
            reason=f"{text!r} ~ {task.instruction!r} (cosine {similarity:.2f})",
        )

    def _new_items(self, perceptions: Sequence[Perception]) -> list[tuple[str, tuple[Perception, ...]]]:
        """New complete sentences and fresh sound labels, each with the perceptions it rests on."""
        items: list[tuple[str, tuple[Perception, ...]]] = []
        speech_end: SpeechActivity | None = None
        for p in perceptions:
            if isinstance(p, TranscriptUpdate) and p.committed.strip():
                items.extend(self._add_text(p))
            elif isinstance(p, SpeechActivity) and not p.speaking:
                speech_end = p
            elif isinstance(p, SoundEvent) and self.sounds and p.score >= self.min_sound_score:
                armed = self._quiet.ready(p.label, p.span_start)
                self._quiet.note(p.label, p.span_end)
                if armed:
                    items.append((f"sound: {p.label}", (p,)))
        if speech_end is not None and self._partial:  # after this call's words: the end of speech ends the sentence
            items.append((self._partial, (*self._partial_evidence, speech_end)))
            self._partial, self._partial_evidence = "", []
        return items

    def _add_text(self, update: TranscriptUpdate) -> list[tuple[str, tuple[Perception, ...]]]:
        text = f"{self._partial} {update.committed.strip()}".strip()
        evidence = (*self._partial_evidence, update)
        pieces = _SENTENCE_END.split(text)
        if text[-1] in ".!?" or len(pieces[-1].split()) >= self.max_words:
            done, self._partial, self._partial_evidence = pieces, "", []
        else:
            rest: list[Perception] = [update] if len(pieces) > 1 else list(evidence)  # the unfinished sentence
            done, self._partial, self._partial_evidence = pieces[:-1], pieces[-1], rest
        return [(sentence, evidence) for sentence in done if sentence.strip()]

    async def check(self) -> None:
        """Load the embedder's model now, so a missing extra or folder fails before audio flows."""
        if self.offload:
            await anyio.to_thread.run_sync(load_now, self.embedder)
        else:
            load_now(self.embedder)

    async def _embed(self, texts: list[str]) -> FloatArray:
        if self.offload:
            return await anyio.to_thread.run_sync(self.embedder.embed, texts)
        return self.embedder.embed(texts)

    async def _best_match(
        self, tasks: Sequence[StandingTask], items: list[tuple[str, tuple[Perception, ...]]]
    ) -> tuple[StandingTask, str, float, tuple[Perception, ...]] | None:
        served = {t.instruction for t in tasks}
        missing = sorted(served - self._vectors.keys())
        texts = [text for text, _ in items]
        vectors = await self._embed(missing + texts)
        self._vectors.update(zip(missing, vectors[: len(missing)], strict=True))
        self._vectors = {text: self._vectors[text] for text in served}  # only the tasks served now
        sentences = vectors[len(missing) :]
        instructions = np.stack([self._vectors[t.instruction] for t in tasks])
        similarity = sentences @ instructions.T  # (items, tasks)
        best: tuple[tuple[int, float], tuple[StandingTask, str, float, tuple[Perception, ...]]] | None = None
        for row, (text, evidence) in enumerate(items):
            for column, task in enumerate(tasks):
                value = float(similarity[row, column])
                margin = value - self.thresholds.get(task.name, self.threshold)
                if margin >= 0 and (best is None or (task.priority, margin) > best[0]):
                    best = ((task.priority, margin), (task, text, value, evidence))
        return None if best is None else best[1]

    async def reset(self) -> None:
        """Forget the sentence in progress, label re-arming and a held match (task embeddings stay)."""
        self._partial, self._partial_evidence = "", []
        self._quiet.clear()
        self._pending = None


def _session_tasks(context: DecisionContext) -> tuple[StandingTask, ...]:
    """The session's tasks but the conversation itself (its first non-proactive task, endpointing's)."""
    conversation = next((task for task in context.tasks if not task.proactive), None)
    return tuple(task for task in context.tasks if task is not conversation)


def _as_tasks(tasks: Mapping[str, str] | Sequence[StandingTask] | None) -> tuple[StandingTask, ...] | None:
    if tasks is None:
        return None
    if isinstance(tasks, Mapping):
        built = tuple(StandingTask(name=name, instruction=text, proactive=True) for name, text in tasks.items())
    else:
        built = tuple(tasks)
        if not all(isinstance(task, StandingTask) for task in built):
            raise ConfigurationError("SemanticPolicy: tasks must be a name -> instruction mapping or StandingTasks")
    if not built:
        raise ConfigurationError("SemanticPolicy: tasks is empty; pass None to serve the session's proactive tasks")
    if any(not task.instruction.strip() for task in built):
        raise ConfigurationError("SemanticPolicy: every task needs a non-empty instruction")
    names = [task.name for task in built]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"SemanticPolicy: task names must be unique, got {names}")
    return built
