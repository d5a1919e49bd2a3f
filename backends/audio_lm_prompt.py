"""The respond-or-silent question the audio-LLM deciders ask, and how P(respond) becomes a decision.

Shared by the HTTP decider (:mod:`audiointeract.backends.openai_compat.decider`) and the
local one (:mod:`audiointeract.backends.hf.audio_lm`), so both ask the same question about
the same context and read the answer the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from audiointeract.audio import FloatArray
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, SoundEvent, SpeechActivity, TranscriptUpdate
from audiointeract.interfaces import DecisionContext

__all__ = [
    "DEFAULT_QUESTION",
    "DEFAULT_SYSTEM_PROMPT",
    "TRANSCRIPT_CHARS",
    "check_threshold",
    "decision_from_probability",
    "decision_prompt",
    "describe_perception",
    "respond_probability",
    "skip_reason",
]

DEFAULT_SYSTEM_PROMPT = (
    "You listen to a live audio stream for a voice assistant and decide whether the assistant "
    "should speak right now."
)
DEFAULT_QUESTION = "Should the assistant speak now? Answer with one word: respond or silent."
TRANSCRIPT_CHARS = 1000
"""How much of the transcript's tail the question quotes."""


def describe_perception(perception: Perception) -> str:
    """A short plain-words description of what was heard, with its stream time."""
    when = f"at {perception.span_start:.1f}-{perception.span_end:.1f} s"
    if isinstance(perception, SoundEvent):
        return f"sound '{perception.label}' (score {perception.score:.2f}) {when}"
    if isinstance(perception, TranscriptUpdate):
        return f"speech {when}: \"{f'{perception.committed} {perception.tentative}'.strip()}\""
    if isinstance(perception, SpeechActivity):
        return f"speech {'started' if perception.speaking else 'ended'} at {perception.span_end:.1f} s"
    return f"{perception.kind} {when}"


def decision_prompt(
    context: DecisionContext, perceptions: Sequence[Perception], *, system_prompt: str, question: str
) -> tuple[str, str]:
    """(system, user text) of the question: the standing tasks; the transcript tail, what was just heard."""
    tasks = "\n".join(f"- {task.instruction}" for task in context.tasks) or "- (none)"
    heard = "; ".join(describe_perception(p) for p in perceptions) or "(nothing new)"
    transcript = context.transcript[-TRANSCRIPT_CHARS:] or "(nothing yet)"
    return (f"{system_prompt}\nIts standing tasks:\n{tasks}",
            f"Transcript so far: {transcript}\nJust heard: {heard}\n{question}")


def skip_reason(context: DecisionContext, perceptions: Sequence[Perception], audio: FloatArray | None) -> str | None:
    """Why not to ask the model at all (a reply is in flight, or neither audio nor anything new); None: ask."""
    if context.agent_speaking:
        return "a reply is in flight"
    if not perceptions and audio is None:
        return "nothing new heard"
    return None


def respond_probability(respond_mass: float, silent_mass: float) -> float | None:
    """P(respond) = m_respond / (m_respond + m_silent), clamped to [0, 1]; None when both are 0."""
    total = respond_mass + silent_mass
    if not total > 0.0:
        return None
    return min(1.0, max(0.0, respond_mass / total))


def decision_from_probability(
    probability: float,
    *,
    threshold: float,
    reason: str,
    context: DecisionContext,
    perceptions: Sequence[Perception],
    task: str | None,
) -> Decision:
    """RESPOND (score P, citing ``perceptions``) at or above ``threshold``, else SILENT (score 1 - P).

    A RESPOND serves ``task``, or the first standing task when ``task`` is None.
    """
    if probability < threshold:
        return Decision(action=Action.SILENT, score=1.0 - probability, reason=reason)
    serves = task or (context.tasks[0].name if context.tasks else None)
    return Decision(action=Action.RESPOND, task=serves, evidence=tuple(perceptions), score=probability, reason=reason)


def check_threshold(threshold: float) -> None:
    """Raise :class:`ConfigurationError` unless ``threshold`` is a finite number in [0, 1]."""
    if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise ConfigurationError(f"threshold must be in [0, 1], got {threshold}")
