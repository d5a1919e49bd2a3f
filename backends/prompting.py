"""Prompt templates: turn a :class:`~audiointeract.events.ResponseRequest` into chat messages.

A template is any callable ``(ResponseRequest) -> list[ChatMessage]``; responders take one
as their ``prompt`` option, so an app replaces the wording without touching a backend.
:class:`ChatPrompt` is the default:

* **system**: the persona, then the instruction of the standing task the reply serves if
  that task is proactive (or always, with ``all_tasks``), then what triggered the reply
  when it was not speech (a sound event). Reactive tasks ("answer questions") are what the
  assistant does anyway, and small models answer worse with the extra instruction;
* **conversation**: the last ``history_turns`` turns of the conversation so far;
* **last user message**: for a reply triggered by a sound, a note of the sound; otherwise
  the user's latest turn, or when there is none (speech without a transcript) the tail of
  the committed transcript, or a note of the trigger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import attrs

from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception, ResponseRequest, SoundEvent, SpeechActivity, TranscriptUpdate

__all__ = ["DEFAULT_PERSONA", "ChatMessage", "ChatPrompt", "PromptTemplate", "describe_trigger"]

ChatMessage: TypeAlias = dict[str, str]
PromptTemplate: TypeAlias = Callable[[ResponseRequest], list[ChatMessage]]

DEFAULT_PERSONA = "You are a helpful voice assistant. Answer in one short sentence."


def describe_trigger(trigger: Perception | None) -> str:
    """A short plain-words note of what triggered a reply ("" for speech or nothing)."""
    if isinstance(trigger, SoundEvent):
        return f"A sound was just heard: {trigger.label} (confidence {trigger.score:.2f})."
    return ""


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be >= 0, got {value}")


@attrs.frozen(kw_only=True)
class ChatPrompt:
    """The default template: persona + task + trigger as system, then the conversation."""

    persona: str = DEFAULT_PERSONA
    history_turns: int = attrs.field(default=6, validator=_non_negative)
    """Earlier turns of the conversation to include (0: only the latest user turn)."""
    transcript_chars: int = attrs.field(default=400, validator=_non_negative)
    """How much of the transcript's tail stands in for the user turn when there is none."""
    all_tasks: bool = False
    """Add the task instruction for reactive tasks too (proactive ones always get it)."""

    def __call__(self, request: ResponseRequest) -> list[ChatMessage]:
        """The chat messages for ``request``."""
        system = [self.persona]
        if request.task is not None and (request.task.proactive or self.all_tasks):
            system.append(f"Your task: {request.task.instruction}")
        if note := describe_trigger(request.trigger):
            system.append(note)
        messages: list[ChatMessage] = [{"role": "system", "content": " ".join(system)}]
        turns = [turn for turn in request.history if turn.text.strip()]
        latest_user = turns.pop().text.strip() if turns and turns[-1].role == "user" else None
        earlier = turns[-self.history_turns :] if self.history_turns else []
        messages.extend({"role": turn.role, "content": turn.text.strip()} for turn in earlier)
        if isinstance(request.trigger, SoundEvent):
            # a proactive reply is about the sound, not about whatever was said last
            latest_user = f"({request.trigger.label} heard.) What should I know or do?"
        messages.append({"role": "user", "content": latest_user or self._stand_in(request)})
        return messages

    def _stand_in(self, request: ResponseRequest) -> str:
        tail = request.transcript.strip()[-self.transcript_chars :] if self.transcript_chars else ""
        if tail:
            return tail
        trigger = request.trigger
        if isinstance(trigger, SoundEvent):
            return f"({trigger.label} heard.)"
        if isinstance(trigger, (SpeechActivity, TranscriptUpdate)):
            return "(The user spoke, but the words were not recognised.)"
        return "(Nothing was said.)"
