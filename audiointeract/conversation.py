"""The conversation as the session and the policies see it: the user's turn, built from perceptions.

A turn opens at a speech onset (or, for perceivers without VAD, at the first committed
words), collects its transcript and evidence, and is closed by the policy that served it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import attrs

from audiointeract.events import Perception, SpeechActivity, TranscriptUpdate

__all__ = ["UserTurn"]

_EVIDENCE = 16


@attrs.define
class UserTurn:
    """Mutable tracker of the user's speech: runs, the open turn's text and its evidence."""

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

    @property
    def text(self) -> str:
        """The open turn's committed text followed by the newest tentative words."""
        return " ".join(part.strip() for part in [*self.committed, self.tentative] if part.strip())

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
        self.committed = []
        self.tentative = ""
        self.evidence.clear()

    def _on_activity(self, p: SpeechActivity) -> None:
        self.uses_vad = True
        self.speaking = p.speaking
        if p.speaking:
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
            if not self.uses_vad:
                self.speech_end = p.span_end
        self.tentative = p.tentative
        self.evidence.append(p)
