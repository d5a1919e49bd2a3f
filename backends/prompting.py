"""Rules for spoken replies: what the prompt holds, how a sound is announced, what of the text is spoken.

* **The prompt holds only what the reply needs** (:class:`ChatPrompt`): the persona, the
  app's facts ("Current time: 9:41 AM."), a proactive task's instruction, the conversation
  between the user and the assistant, and last the user's words this reply answers
  (``ResponseRequest.utterance``). Speech no reply answered (history turns with role
  "overheard": a radio, people talking to each other) is left out, or with
  ``overheard=True`` quoted in a system note saying it was not said to the assistant.
* **A warning about a sound is a template, never free text** (:class:`SoundWarning`): "I
  think I heard a phone ringing. I'm about 90 percent sure." It names the heard label and
  its score, and is not given at all when the score is below ``threshold`` (keep that equal
  to the deciding policy's threshold: 0.4 for the default policy).
* **A reply is speech** (:class:`SpokenStyle`, applied to streamed text by
  :class:`SpokenFilter`): markdown, list markers and inline code marks are removed, a code
  block ends the reply, text is released in whole sentences (the first one clause by clause,
  so speech starts early) — at most ``max_sentences``, and no more than ``max_chars``
  characters after the first — and an unfinished sentence at the end ("For example:") is
  dropped.

A prompt template is any callable ``(ResponseRequest) -> list[ChatMessage]``; responders
take one as their ``prompt`` option, so an app replaces the wording without touching a
backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

import attrs

from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception, ResponseRequest, SoundEvent, Turn

__all__ = [
    "DEFAULT_PERSONA",
    "SOUND_PHRASES",
    "ChatMessage",
    "ChatPrompt",
    "PromptTemplate",
    "SoundWarning",
    "SpokenFilter",
    "SpokenStyle",
    "describe_trigger",
    "sound_phrase",
]

ChatMessage: TypeAlias = dict[str, str]
PromptTemplate: TypeAlias = Callable[[ResponseRequest], list[ChatMessage]]
Facts: TypeAlias = Sequence[str] | Callable[[ResponseRequest], Sequence[str]]

DEFAULT_PERSONA = "You are a helpful voice assistant. Answer in one short sentence."

SOUND_PHRASES: Mapping[str, str] = {
    "Telephone": "a phone ringing",
    "Telephone bell ringing": "a phone ringing",
    "Ringtone": "a phone ringing",
    "Alarm": "an alarm",
    "Alarm clock": "an alarm clock",
    "Smoke detector, smoke alarm": "a smoke alarm",
    "Fire alarm": "a fire alarm",
    "Car alarm": "a car alarm",
    "Siren": "a siren",
    "Civil defense siren": "a siren",
    "Doorbell": "a doorbell",
    "Ding-dong": "a doorbell",
    "Knock": "a knock",
    "Buzzer": "a buzzer",
    "Beep, bleep": "a beeping",
    "Baby cry, infant cry": "a baby crying",
    "Screaming": "a scream",
    "Dog": "a dog",
    "Bark": "a dog barking",
    "Shatter": "glass breaking",
    "Glass": "glass",
    "Water tap, faucet": "a running tap",
    "Gunshot, gunfire": "a bang like a gunshot",
    "Explosion": "a bang like an explosion",
}
"""Spoken names of common AudioSet labels; other labels are said as "a <label> sound"."""


def sound_phrase(label: str) -> str:
    """How a warning names a heard label: "a phone ringing" (:data:`SOUND_PHRASES`), or "a crow sound"."""
    if phrase := SOUND_PHRASES.get(label):
        return phrase
    name = label.split(",", maxsplit=1)[0].strip().lower()
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name} sound"


def describe_trigger(trigger: Perception | None) -> str:
    """A short plain-words note of what triggered a reply ("" for speech or nothing)."""
    if isinstance(trigger, SoundEvent):
        return f"A sound was just heard: {trigger.label} (confidence {trigger.score:.2f})."
    return ""


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be >= 0, got {value}")


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be >= 1, got {value}")


def _unit(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be in [0, 1], got {value}")


def _facts(value: Facts) -> Facts:
    return value if callable(value) else tuple(value)


@attrs.frozen(kw_only=True)
class ChatPrompt:
    """The default template; see the module docstring for what goes in and what stays out.

    Messages: a system message (persona, and the instruction of a proactive task — or of
    every task, with ``all_tasks``); a system message of ``facts`` (strings, or a callable
    that returns them per request, e.g. the current time); with ``overheard``, a system
    note quoting the overheard speech of the last ``history_turns`` turns; the last
    ``history_turns`` user/assistant turns; and the user message: the request's
    ``utterance``, else the latest user turn, else a note of the trigger.
    """

    persona: str = DEFAULT_PERSONA
    facts: Facts = attrs.field(default=(), converter=_facts)
    """What the assistant should know to answer ("Current time: 9:41 AM.")."""
    history_turns: int = attrs.field(default=6, validator=_non_negative)
    """Earlier turns of the conversation to include (0: only the words being answered)."""
    overheard: bool = False
    """Quote overheard speech, labelled as not said to the assistant (default: leave it out)."""
    all_tasks: bool = False
    """Add the task instruction for reactive tasks too (proactive ones always get it)."""

    def __call__(self, request: ResponseRequest) -> list[ChatMessage]:
        """The chat messages for ``request``."""
        system = [self.persona]
        if request.task is not None and (request.task.proactive or self.all_tasks):
            system.append(f"Your task: {request.task.instruction}")
        messages: list[ChatMessage] = [{"role": "system", "content": " ".join(system)}]
        facts = self.facts(request) if callable(self.facts) else self.facts
        if known := " ".join(fact.strip() for fact in facts if fact.strip()):
            messages.append({"role": "system", "content": known})
        turns = [turn for turn in request.history if turn.text.strip()]
        turns = turns[-self.history_turns :] if self.history_turns else turns[-1:]
        if self.overheard and (heard := [turn.text.strip() for turn in turns if turn.role == "overheard"]):
            quoted = " ".join(f'"{text}"' for text in heard)
            messages.append({"role": "system", "content": f"Overheard nearby, not said to you: {quoted}"})
        said = [turn for turn in turns if turn.role != "overheard"]
        answered = _answered(request, said)
        if said and said[-1].role == "user" and said[-1].text.strip() == answered:
            said.pop()
        if self.history_turns:
            messages.extend({"role": turn.role, "content": turn.text.strip()} for turn in said)
        messages.append({"role": "user", "content": answered or _note(request.trigger)})
        return messages


def _answered(request: ResponseRequest, said: list[Turn]) -> str:
    """The words this reply answers: the utterance, else the latest user turn (none for a sound)."""
    if request.utterance.strip():
        return request.utterance.strip()
    if isinstance(request.trigger, SoundEvent):
        return ""
    return said[-1].text.strip() if said and said[-1].role == "user" else ""


def _note(trigger: Perception | None) -> str:
    if isinstance(trigger, SoundEvent):
        percent = round(trigger.score * 100)
        return (f"(Heard: {sound_phrase(trigger.label)}, {percent} percent sure.) "
                "Tell me in one short sentence what you heard and how sure you are.")
    if trigger is not None:
        return "(The user spoke, but the words were not recognised.)"
    return "(Nothing was said.)"


@attrs.frozen(kw_only=True)
class SoundWarning:
    """The spoken warning for a reply triggered by a sound; None below ``threshold``.

    ``template`` may use ``{sound}`` (``phrases`` or :func:`sound_phrase`), ``{label}``,
    ``{percent}`` (the score in percent, rounded to 5, from 5 to 95) and ``{score}``.
    """

    threshold: float = attrs.field(default=0.4, validator=_unit)
    """Below this score no warning is given; keep it equal to the policy's threshold."""
    template: str = "I think I heard {sound}. I'm about {percent} percent sure."
    phrases: Mapping[str, str] = SOUND_PHRASES

    def text(self, event: SoundEvent) -> str | None:
        """The warning for ``event``, or None when its score is below the threshold."""
        if event.score < self.threshold:
            return None
        phrase = self.phrases.get(event.label) or sound_phrase(event.label)
        percent = min(95, max(5, round(event.score * 20) * 5))
        return self.template.format(sound=phrase, label=event.label, percent=percent, score=f"{event.score:.2f}")


@attrs.frozen(kw_only=True)
class SpokenStyle:
    """How much of a language model's text is spoken: whole sentences, plain words, a length cap."""

    max_sentences: int = attrs.field(default=2, validator=_positive)
    max_chars: int = attrs.field(default=240, validator=_positive)
    """Sentences after the first are spoken only while the reply stays within this length."""
    first_clause_words: int = attrs.field(default=4, validator=_non_negative)
    """The first sentence is released clause by clause once it holds this many words (0: not at clauses)."""
    first_phrase_words: int = attrs.field(default=10, validator=_non_negative)
    """A run of this many words of the first sentence with no clause mark is released at a word (0: never)."""
    code_reply: str = "That answer is code, which I can't read aloud."
    """Said instead when the reply is a code block with no sentence before it ("": nothing)."""
    no_sentence_reply: str = "Sorry, I don't have a clear answer to that."
    """Said instead when the model's text ends with nothing speakable (a first sentence cut by the
    token limit, or no words at all), so an answered question is never met with silence ("": nothing)."""

    def filter(self) -> SpokenFilter:
        """A fresh filter for one reply."""
        return SpokenFilter(self)


_FENCE = "```"
_MARKS = (".", "!", "?", "…", ":", ",", ";")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LINE_MARKER = re.compile(r"(?m)^[ \t]*(?:#{1,6}|>|[-*•+]|\d{1,2}[.)])[ \t]+")
_INLINE_NUMBER = re.compile(r"(?<=[:.!?]\s)\d{1,2}[.)]\s+")  # "Steps: 1. Boil. 2. Wait"
_MARKUP = re.compile(r"[*`#~|]+|(?<!\w)_+|_+(?!\w)")
_SPACES = re.compile(r"\s+")
_SENTENCE = re.compile(r".*?(?<![:.!?]\s\d)(?<![:.!?]\s\d\d)[.!?…]+[\"')\]]*(?=\s)", re.DOTALL)
_CLAUSE_MARK = re.compile(r"[,;](?=\s)")
_COMPLETE_WORD = re.compile(r"\S+(?=\s)")
_LAST_CLAUSE = re.compile(r"(.*\w)\s*[,;]", re.DOTALL)
_ENDS_UNFINISHED = re.compile("[,;:(\\-\u2013\u2014]$")


def _plain(text: str) -> str:
    """``text`` without markdown, list numbers or line breaks (a line that ends unpunctuated ends a sentence)."""
    text = _MARKUP.sub("", _INLINE_NUMBER.sub("", _LINE_MARKER.sub("", _LINK.sub(r"\1", text))))
    joined = ""
    for line in text.split("\n"):
        piece = _SPACES.sub(" ", line).strip()
        if not piece:
            continue
        if joined and not joined.endswith(_MARKS):
            joined += "."
        joined = f"{joined} {piece}" if joined else piece
    return f"{joined} " if joined and text[-1:].isspace() else joined


class SpokenFilter:
    """Applies a :class:`SpokenStyle` to one reply's streamed text.

    :meth:`push` takes raw text and returns what may be spoken now: whole sentences and,
    so the first audio comes early, the first sentence's clauses once they hold
    ``first_clause_words`` words (at ``,`` or ``;``, never at ``:``), and its words once a
    run of ``first_phrase_words`` of them has no clause mark (such a phrase ends with a
    space, so the next piece joins it without one). :meth:`finish`
    returns the last sentence if the text ended cleanly; a first sentence cut by the
    token limit after some of its clauses were spoken ends at its last whole clause. Once
    :attr:`done` is True (the cap was reached, or a code block began), the rest of the
    model's output is ignored: stop generating.
    """

    def __init__(self, style: SpokenStyle) -> None:
        self._style = style
        self._raw = ""
        self._released = 0  # characters of the plain text already released
        self._partial = False  # some clauses of the current (first) sentence were released
        self._open = False  # the last release ended mid-clause, with its space
        self.sentences = 0
        self.chars = 0
        self.done = False

    def push(self, text: str) -> str:
        """Add streamed text; return what it made speakable ("" if nothing)."""
        if self.done:
            return ""
        self._raw += text
        if _FENCE in self._raw:
            # a code block cannot be spoken: the reply ends with the sentences before it
            self._raw = self._raw[: self._raw.index(_FENCE)]
            said = self._finish(complete=True)
            return said or (self._style.code_reply if not self.chars else "")
        return self._release(_plain(self._raw))

    def finish(self, *, complete: bool) -> str:
        """The end of the text; ``complete`` is False when the model was cut at its token limit."""
        if self.done:
            return ""
        return self._finish(complete=complete) or ("" if self.chars else self._style.no_sentence_reply)

    def _finish(self, *, complete: bool) -> str:
        plain = _plain(self._raw)
        out = self._release(plain)
        tail = plain[self._released :].strip()
        if not self.done and tail:
            if ending := self._ending(tail, complete=complete):
                out += self._take(ending, ends_sentence=True)
            elif self._partial and (clause := _LAST_CLAUSE.match(tail)):
                out += self._take(f"{clause.group(1)}.", ends_sentence=True)
        self.done = True
        return out

    @staticmethod
    def _ending(tail: str, *, complete: bool) -> str:
        """The unterminated last sentence if the model ended it ("Paris" + end of text), else ""."""
        if not complete or _ENDS_UNFINISHED.search(tail) or not any(ch.isalpha() for ch in tail):
            return ""
        return tail if tail.endswith((".", "!", "?", "…", '"', "'", ")")) else f"{tail}."

    def _release(self, plain: str) -> str:
        out = ""
        while not self.done and (match := _SENTENCE.match(plain, self._released)):
            sentence = match.group(0)
            self._released = match.end()
            if any(ch.isalnum() for ch in sentence):
                out += self._take(sentence, ends_sentence=True)
        if not self.done and self.sentences == 0:
            out += self._first_clauses(plain)
        return out

    def _first_clauses(self, plain: str) -> str:
        """The first sentence's finished clauses, once it holds enough words to be worth speaking; or a long phrase."""
        pending = plain[self._released :]
        ends = [m.end() for m in _CLAUSE_MARK.finditer(pending)]
        words = len(plain[: self._released].split()) + len(pending[: ends[-1]].split()) if ends else 0
        if self._style.first_clause_words and words >= self._style.first_clause_words:
            self._released += ends[-1]
            return self._take(pending[: ends[-1]], ends_sentence=False)
        complete = list(_COMPLETE_WORD.finditer(pending, ends[-1] if ends else 0))
        if not self._style.first_phrase_words or len(complete) < self._style.first_phrase_words:
            return ""
        self._released += complete[-1].end()
        return self._take(pending[: complete[-1].end()], ends_sentence=False, open_end=True)

    def _take(self, text: str, *, ends_sentence: bool, open_end: bool = False) -> str:
        """Release ``text`` unless a cap forbids it; mark the filter done at the cap."""
        text = text.strip()
        if not text:
            return ""
        piece = f" {text}" if self.chars and not self._open else text
        if ends_sentence and not self._partial and self.sentences and self.chars + len(piece) > self._style.max_chars:
            self.done = True
            return ""
        if open_end:
            piece += " "
        self._open = open_end
        self.chars += len(piece)
        self._partial = not ends_sentence
        if ends_sentence:
            self.sentences += 1
            self.done = self.sentences >= self._style.max_sentences
        return piece
