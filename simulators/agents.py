"""Simple, deterministic decider and speaking responder that serve a scene's tasks.

:class:`TaskRuleDecider` answers questions (committed text ending in "?") for the
answer task and warns about sound events for proactive tasks, after an optional
hold-off; its decision latency under zero compute cost is bounded by
``hold + chunk``. :class:`SpeakingResponder` streams text and synthetic speech audio,
so first-audio latency and agent/user overlap can be measured.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Mapping, Sequence

import attrs
import numpy as np

from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import ConfigurationError
from audiointeract.events import (
    Action,
    AudioDelta,
    Decision,
    Perception,
    ResponseDelta,
    ResponseRequest,
    SoundEvent,
    SpeechActivity,
    StandingTask,
    TextDelta,
    TranscriptUpdate,
)
from audiointeract.interfaces import Decider, DecisionContext, Responder
from audiointeract.policies.cooldown import Cooldown

__all__ = ["SpeakingResponder", "TaskRuleDecider"]


@attrs.frozen
class _Trigger:
    evidence: Perception
    task: str
    ready_at: float
    expires_at: float


def _first(tasks: Sequence[StandingTask], *, proactive: bool) -> str | None:
    return next((task.name for task in tasks if task.proactive == proactive), None)


class TaskRuleDecider(Decider):
    """RESPOND to questions and to sound events, INTERRUPT when the user barges in.

    * A committed transcript ending in "?" (or any committed text when
      ``questions_only`` is false) triggers ``answer_task`` (default: the first
      non-proactive task).
    * A :class:`SoundEvent` with ``score >= min_score`` triggers the task
      ``sound_tasks[label]`` (default: the first proactive task whose instruction
      mentions a word of the label, e.g. "alarm" in "warn me about alarms");
      each sound label triggers once per ``sound_refractory`` seconds.
    * A trigger fires once, ``hold`` seconds of stream after its evidence ends,
      when no reply is in flight; it is dropped ``expire`` seconds after that.
    """

    name = "task-rules"

    def __init__(
        self,
        *,
        answer_task: str | None = None,
        sound_tasks: Mapping[str, str] | None = None,
        min_score: float = 0.5,
        questions_only: bool = True,
        barge_in: bool = True,
        hold: float = 0.0,
        expire: float = 3.0,
        sound_refractory: float = 5.0,
    ) -> None:
        for label, value in (("min_score", min_score), ("hold", hold), ("expire", expire)):
            if not (math.isfinite(value) and value >= 0):
                raise ConfigurationError(f"TaskRuleDecider {label} must be finite and >= 0, got {value}")
        self._answer_task = answer_task
        self._sound_tasks = dict(sound_tasks) if sound_tasks is not None else None
        self._min_score = min_score
        self._questions_only = questions_only
        self._barge_in = barge_in
        self._hold = hold
        self._expire = expire
        self._sound_cooldown = Cooldown(sound_refractory)
        self._pending: list[_Trigger] = []

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        barge = None
        for p in perceptions:
            self._collect(p, context.tasks)
            if isinstance(p, SpeechActivity) and p.speaking and context.agent_speaking and self._barge_in:
                barge = p
        if barge is not None:
            return Decision(action=Action.INTERRUPT, evidence=(barge,), reason="user spoke over the reply")
        heard = context.heard_until
        self._pending = [t for t in self._pending if t.expires_at >= heard]
        if context.agent_speaking:
            return Decision.silent()
        for trigger in self._pending:
            if trigger.ready_at <= heard:
                self._pending.remove(trigger)
                return Decision(
                    action=Action.RESPOND,
                    task=trigger.task,
                    evidence=(trigger.evidence,),
                    reason=f"{trigger.task}: {_describe(trigger.evidence)}",
                )
        return Decision.silent()

    def _collect(self, p: Perception, tasks: Sequence[StandingTask]) -> None:
        task: str | None = None
        if isinstance(p, TranscriptUpdate) and p.committed.strip():
            if not self._questions_only or p.committed.rstrip().endswith("?"):
                task = self._answer_task or _first(tasks, proactive=False)
        elif isinstance(p, SoundEvent) and p.score >= self._min_score:
            if not self._sound_cooldown.ready(p.label, p.span_start):
                return
            self._sound_cooldown.note(p.label, p.span_start)
            if self._sound_tasks is None:
                task = _mentioning(tasks, p.label)
            else:
                task = self._sound_tasks.get(p.label)
        if task is not None:
            ready = p.span_end + self._hold
            self._pending.append(_Trigger(evidence=p, task=task, ready_at=ready, expires_at=ready + self._expire))

    async def reset(self) -> None:
        self._pending = []
        self._sound_cooldown.clear()


def _mentioning(tasks: Sequence[StandingTask], label: str) -> str | None:
    """The first proactive task whose instruction mentions a word (3+ letters) of ``label``."""
    words = [word for word in re.findall(r"[a-z]+", label.lower()) if len(word) >= 3]
    for task in tasks:
        if task.proactive and any(word in task.instruction.lower() for word in words):
            return task.name
    return None


def _describe(p: Perception) -> str:
    if isinstance(p, TranscriptUpdate):
        return repr(p.committed)
    if isinstance(p, SoundEvent):
        return f"{p.label} ({p.score:.2f})"
    return type(p).__name__


class SpeakingResponder(Responder):
    """Streams a short reply as words, each followed by its synthetic speech audio.

    The first word comes ``first_token_delay`` seconds after the request; each
    word's audio lasts ``word_seconds`` (the session schedules playback).
    """

    name = "speaking"

    def __init__(
        self,
        *,
        first_token_delay: float = 0.2,
        word_seconds: float = 0.3,
        sample_rate: int = 16000,
        clock: Clock | None = None,
    ) -> None:
        if not (math.isfinite(first_token_delay) and first_token_delay >= 0):
            raise ConfigurationError(f"first_token_delay must be >= 0, got {first_token_delay}")
        if not (math.isfinite(word_seconds) and word_seconds > 0):
            raise ConfigurationError(f"word_seconds must be > 0, got {word_seconds}")
        self._first = first_token_delay
        self._size = max(1, round(word_seconds * sample_rate))
        self._rate = sample_rate
        self._clock = clock or LoopClock()
        t = np.arange(self._size) / sample_rate
        envelope = np.sin(np.linspace(0.0, math.pi, self._size)) ** 2
        self._word = (0.1 * envelope * np.sin(2 * math.pi * 180.0 * t)).astype(np.float32)

    def reply_text(self, request: ResponseRequest) -> str:
        """The reply for ``request`` (a warning naming a sound, or an answer)."""
        trigger = request.trigger
        if isinstance(trigger, SoundEvent):
            return f"Heads up: I heard {trigger.label.lower()}."
        if request.task is not None and request.task.proactive:
            return "Heads up: something needs your attention."
        return "Here is my answer to that."

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        await self._clock.sleep(self._first)
        for number, word in enumerate(self.reply_text(request).split()):
            text = word if number == 0 else " " + word
            yield TextDelta(text=text)
            yield AudioDelta(samples=self._word, sample_rate=self._rate)
