"""Keywords and wake phrases matched on the committed transcript."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, TranscriptUpdate
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import (
    check_flag,
    check_non_negative,
    check_task,
    pick_task,
    string_mapping,
    string_tuple,
)
from audiointeract.policies._text import words

__all__ = ["KeywordPolicy"]


class KeywordPolicy(Decider):
    """RESPOND when a keyword or wake phrase appears in the committed transcript.

    Matching is on normalised words (case and punctuation ignored), across transcript
    updates; every occurrence triggers exactly once. With ``wait_for_pause`` the reply
    waits until the user stops speaking (so "hey assistant, what's the time" is heard
    out); a match made while the agent speaks waits for it to finish. A match not served
    within ``hold`` s is dropped. ``task_for`` maps a keyword to its task (default
    ``task``, else the session's first non-proactive task); a match whose task the session
    does not hold is dropped.
    """

    name = "keyword"

    def __init__(
        self,
        keywords: str | Iterable[str] = ("assistant", "computer"),
        *,
        task: str | None = None,
        task_for: Mapping[str, str] | None = None,
        wait_for_pause: bool = True,
        hold: float = 10.0,
    ) -> None:
        self.keywords = string_tuple("KeywordPolicy", "keywords", keywords)
        self._phrases = [tuple(words(keyword)) for keyword in self.keywords]
        empty = [k for k, phrase in zip(self.keywords, self._phrases, strict=True) if not phrase]
        if empty:
            raise ConfigurationError(f"KeywordPolicy: keywords {empty} have no words once normalised")
        self.task = check_task("KeywordPolicy", "task", task)
        self.task_for = string_mapping("KeywordPolicy", "task_for", task_for)
        unknown = [k for k in self.task_for if k not in self.keywords]
        if unknown:
            raise ConfigurationError(f"KeywordPolicy: task_for names keywords not in keywords: {unknown}")
        self.wait_for_pause = check_flag("KeywordPolicy", "wait_for_pause", wait_for_pause)
        self.hold = check_non_negative("KeywordPolicy", "hold", hold)
        self._longest = max(len(phrase) for phrase in self._phrases)
        self._tail: list[str] = []
        self._pending: list[tuple[str, TranscriptUpdate]] = []

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Match new committed words; serve the oldest pending match when the floor is free."""
        for p in perceptions:
            if isinstance(p, TranscriptUpdate) and p.committed.strip():
                self._pending.extend((keyword, p) for keyword in self._match(words(p.committed)))
        self._pending = [(k, p) for k, p in self._pending if context.heard_until - p.span_end <= self.hold]
        if not self._pending:
            return Decision.silent()
        if context.agent_speaking or (self.wait_for_pause and context.user_speaking):
            return Decision.silent(f"heard {self._pending[0][0]!r}; waiting for the floor")
        keyword, update = self._pending.pop(0)
        task = pick_task(context, self.task_for.get(keyword) or self.task, proactive=False)
        if task is None:
            return Decision.silent(f"keyword {keyword!r}: the session holds no task to serve it")
        return Decision(
            action=Action.RESPOND,
            task=task,
            evidence=(update,),
            score=1.0,
            reason=f"keyword {keyword!r} in {update.committed.strip()!r}",
        )

    def _match(self, new: list[str]) -> list[str]:
        """Keywords whose occurrence ends inside ``new`` (earlier words come from the kept tail)."""
        stream = [*self._tail, *new]
        first_new = len(self._tail)
        found: list[tuple[int, str]] = []
        for keyword, phrase in zip(self.keywords, self._phrases, strict=True):
            size = len(phrase)
            found.extend(
                (end, keyword)
                for end in range(max(first_new, size - 1), len(stream))
                if tuple(stream[end - size + 1 : end + 1]) == phrase
            )
        self._tail = stream[-(self._longest - 1) :] if self._longest > 1 else []
        return [keyword for _, keyword in sorted(found)]

    async def reset(self) -> None:
        """Forget partial matches and pending triggers."""
        self._tail = []
        self._pending = []
