"""Barge-in: INTERRUPT the agent when the user really talks over it, not on "mm-hmm" or a cough."""

from __future__ import annotations

from collections.abc import Sequence

from audiointeract.conversation import UserTurn
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, TranscriptUpdate
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import EPS, check_flag, check_non_negative, check_task, pick_task
from audiointeract.policies._text import BACKCHANNEL_WORDS, words

__all__ = ["InterruptPolicy"]


class InterruptPolicy(Decider):
    """INTERRUPT a reply in flight once the user has spoken over it long enough.

    Knobs (separate from endpointing): ``min_speech`` seconds of one speech run
    overlapping the reply; ``min_words`` words of it in the transcript (0: do not wait
    for the transcript); with ``ignore_backchannel`` a run whose words are all
    backchannel words ("mm-hmm", "okay", "yeah") never interrupts. At most one
    INTERRUPT per reply. Silent while the agent is listening.
    """

    name = "interrupt"

    def __init__(
        self,
        *,
        task: str | None = None,
        min_speech: float = 0.5,
        min_words: int = 0,
        ignore_backchannel: bool = True,
    ) -> None:
        self.min_speech = check_non_negative("InterruptPolicy", "min_speech", min_speech)
        if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 0:
            raise ConfigurationError(f"InterruptPolicy: min_words must be an int >= 0, got {min_words!r}")
        self.min_words = min_words
        self.task = check_task("InterruptPolicy", "task", task)
        self.ignore_backchannel = check_flag("InterruptPolicy", "ignore_backchannel", ignore_backchannel)
        self._clear()

    def _clear(self) -> None:
        self._reply: int | None = None
        self._reply_seen_at = 0.0
        self._fired = False
        self._run = UserTurn(turn_per_run=True)  # one speech run at a time: each is judged on its own

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Follow the user's speech over the current reply; interrupt when the knobs are met."""
        if context.active_reply != self._reply:
            self._reply = context.active_reply
            self._reply_seen_at = context.heard_until
            self._fired = False
            self._run.forget_text()  # words said before this reply do not count against it
        # transcripts of audio heard before the reply started do not count either
        self._run.absorb(
            [p for p in perceptions if not (isinstance(p, TranscriptUpdate) and p.span_end <= self._reply_seen_at)]
        )
        run = self._run
        if not context.agent_speaking or self._fired or run.run_start is None:
            return Decision.silent()
        start = max(run.run_start, self._reply_seen_at)
        end = context.heard_until if run.speaking else (run.speech_end or start)
        overlap = end - start
        if overlap + EPS < self.min_speech:
            return Decision.silent() if overlap <= 0 else Decision.silent(f"user over reply {overlap:.2f}s")
        heard = words(run.text)
        content = [w for w in heard if not (self.ignore_backchannel and w in BACKCHANNEL_WORDS)]
        if self.ignore_backchannel and heard and not content:
            return Decision.silent(f"backchannel over reply: {' '.join(heard)!r}")
        if len(content) < self.min_words:
            return Decision.silent(f"{len(content)} of {self.min_words} words over reply")
        self._fired = True
        return Decision(
            action=Action.INTERRUPT,
            task=pick_task(context, self.task, proactive=False),
            evidence=tuple(run.evidence)[-8:],
            score=1.0,
            reason=f"user spoke {overlap:.2f}s over reply {self._reply}: {' '.join(heard)!r}",
        )

    async def reset(self) -> None:
        """Forget the reply and speech being followed."""
        self._clear()
