"""The conversation as the session and the policies see it: the user's turn, built from perceptions.

A turn opens at a speech onset (or, for perceivers without VAD, at the first committed
words), collects its transcript and evidence, and is closed by the policy that served it.
:class:`UserTurn` is pure and synchronous, so it is tested without an event loop.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import attrs

from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception, SpeechActivity, TranscriptUpdate, Turn

__all__ = ["Conversation", "UserTurn"]

_EVIDENCE = 16
MAX_WORDS = 500
"""Committed words a turn keeps by default (several minutes of talk): memory stays bounded."""


@attrs.define
class UserTurn:
    """Mutable tracker of the user's speech: runs, the open turn's text and its evidence.

    With ``turn_per_run`` every speech onset starts a new turn (each run is judged on its
    own, as barge-in does). The open turn keeps only its newest ``max_words`` committed
    words (None: all of them).
    """

    turn_per_run: bool = attrs.field(default=False, kw_only=True)
    max_words: int | None = attrs.field(default=MAX_WORDS, kw_only=True)
    uses_vad: bool = False
    speaking: bool = False
    open: bool = False
    onset: float | None = None
    """Stream time the open turn began."""
    run_start: float | None = None
    """Start of the current (or last) speech run."""
    speech_end: float | None = None
    """End of the last speech run (or of the last committed words, without VAD)."""
    committed: list[str] = attrs.field(factory=list)
    tentative: str = ""
    evidence: deque[Perception] = attrs.field(factory=lambda: deque(maxlen=_EVIDENCE))

    def __attrs_post_init__(self) -> None:
        words = self.max_words
        if words is not None and (isinstance(words, bool) or not isinstance(words, int) or words < 1):
            raise ConfigurationError(f"UserTurn: max_words must be an int >= 1 or None, got {words!r}")

    @property
    def text(self) -> str:
        """The open turn's committed text followed by the newest tentative words."""
        return " ".join(part.strip() for part in [*self.committed, self.tentative] if part.strip())

    @property
    def committed_words(self) -> list[str]:
        """The open turn's committed words, split at whitespace."""
        return " ".join(self.committed).split()

    def absorb(self, perceptions: Sequence[Perception]) -> None:
        """Update from one decision point's perceptions, in order."""
        for p in perceptions:
            if isinstance(p, SpeechActivity):
                self._on_activity(p)
            elif isinstance(p, TranscriptUpdate):
                self._on_transcript(p)

    def close(self) -> None:
        """End the open turn (answered, dropped, or overtaken by the agent speaking)."""
        self.open = False
        self.onset = None
        self.forget_text()

    def forget_text(self) -> None:
        """Forget the open turn's words and evidence but keep it open (what was said so far is dealt with)."""
        self.committed = []
        self.tentative = ""
        self.evidence.clear()

    def _on_activity(self, p: SpeechActivity) -> None:
        self.uses_vad = True
        self.speaking = p.speaking
        if p.speaking:
            if self.turn_per_run and self.open:
                self.close()
            self.run_start = p.span_start
            if not self.open:
                self.open = True
                self.onset = p.span_start
        else:
            self.speech_end = p.span_end
        if self.open:
            self.evidence.append(p)

    def _on_transcript(self, p: TranscriptUpdate) -> None:
        if not self.open and not self.uses_vad and p.committed.strip():
            self.open = True
            self.onset = p.span_start
        if not self.open:
            return
        if p.committed.strip():
            self.committed.append(p.committed)
            self._keep_newest_words()
            if not self.uses_vad:
                self.speech_end = p.span_end
        self.tentative = p.tentative
        self.evidence.append(p)

    def _keep_newest_words(self) -> None:
        if self.max_words is None:
            return
        excess = sum(len(part.split()) for part in self.committed) - self.max_words
        while excess > 0:
            first = self.committed[0].split()
            if len(first) <= excess:
                del self.committed[0]
            else:
                self.committed[0] = " ".join(first[excess:])
            excess -= len(first)


@attrs.frozen
class _Heard:
    """Committed words and the stream span they were heard in."""

    start: float
    end: float
    text: str


class Conversation:
    """The conversation as the session hands it to its backends.

    It follows the user's speech (a :class:`UserTurn`), the committed transcript
    (bounded to ``transcript_chars``), the turns so far (the newest
    ``history_turns``), and the words no reply has answered yet. When a reply starts,
    :meth:`answer` splits those words at the decision's evidence: what came before it
    was overheard (a radio, people talking among themselves), the rest is what the
    reply answers.
    """

    def __init__(self, *, transcript_chars: int, history_turns: int) -> None:
        self.user = UserTurn(turn_per_run=True)
        self.transcript = ""
        self.history: deque[Turn] = deque(maxlen=history_turns)
        self._chars = transcript_chars
        self._unanswered: deque[_Heard] = deque()
        self._unanswered_chars = 0

    def absorb(self, perceptions: Sequence[Perception]) -> None:
        """Fold in one decision point's perceptions, in order."""
        self.user.absorb(perceptions)
        for p in perceptions:
            if isinstance(p, TranscriptUpdate) and p.committed.strip():
                text = p.committed.strip()
                self.transcript = f"{self.transcript} {text}".strip()[-self._chars :]
                self._unanswered.append(_Heard(start=p.span_start, end=p.span_end, text=text))
                self._unanswered_chars += len(text) + 1
                while self._unanswered_chars > self._chars and len(self._unanswered) > 1:
                    self._unanswered_chars -= len(self._unanswered.popleft().text) + 1

    def answer(self, evidence: Sequence[Perception]) -> str:
        """A reply starts on ``evidence``: return the words it answers and move them into the history.

        Words heard before the evidence's speech began become an ``"overheard"`` turn.
        Without speech evidence (a sound, a standing task) nothing is answered, unless
        there is no evidence at all: then every unanswered word is.
        """
        utterance, history = self.preview(evidence)
        if history is not None:
            self.history = history
            self._unanswered.clear()
            self._unanswered_chars = 0
        return utterance

    def preview(self, evidence: Sequence[Perception]) -> tuple[str, deque[Turn] | None]:
        """What :meth:`answer` would return, and the history it would leave (None: unchanged); changes nothing."""
        spoken = [p.span_start for p in evidence if isinstance(p, TranscriptUpdate | SpeechActivity)]
        if evidence and not spoken:
            return "", None
        begin = min(spoken) if spoken else -math.inf
        overheard = " ".join(h.text for h in self._unanswered if h.end <= begin)
        utterance = " ".join(h.text for h in self._unanswered if h.end > begin)
        history = deque(self.history, maxlen=self.history.maxlen)
        if overheard:
            history.append(Turn(role="overheard", text=overheard))
        if utterance:
            history.append(Turn(role="user", text=utterance))
        return utterance, history

    def replied(self, text: str) -> None:
        """The agent said ``text`` (a whole reply, or the part of it played before a cancel)."""
        if text.strip():
            self.history.append(Turn(role="assistant", text=text.strip()))
