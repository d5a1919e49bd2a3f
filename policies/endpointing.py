"""Endpointing: respond when the user's turn ends (VAD silence plus a turn-completeness check)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from audiointeract.conversation import UserTurn
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import EPS, check_flag, check_non_negative, check_task, pick_task, string_tuple
from audiointeract.policies._text import BACKCHANNEL_WORDS, addressed_to_assistant, turn_complete, words

__all__ = ["EndpointingPolicy"]


class EndpointingPolicy(Decider):
    """RESPOND after ``min_delay`` s of silence ending a turn that reads complete, else after ``max_delay`` s.

    Silence is measured at decision points as ``heard_until`` minus the end of the last
    speech run. With ``completeness`` the turn's transcript decides between the two
    delays (:func:`~audiointeract.policies._text.turn_complete`: "my number is four
    five" waits for ``max_delay``). With ``addressed_only`` only turns put to the
    assistant (a question, a request, or one of ``names``) are answered; others are
    dropped silently. Turns of backchannel words only ("mm-hmm", "okay") are never
    answered. While a complete, answerable turn waits out ``min_delay`` the policy
    prepares its reply (``Decision.preparing``), so the session can write it ahead.
    Acts only while the agent is listening; ``task`` defaults to the session's first
    non-proactive standing task.
    """

    name = "endpointing"

    def __init__(
        self,
        *,
        task: str | None = None,
        min_delay: float = 0.4,
        max_delay: float = 2.0,
        completeness: bool = True,
        addressed_only: bool = False,
        names: Iterable[str] = ("assistant", "computer"),
    ) -> None:
        self.min_delay = check_non_negative("EndpointingPolicy", "min_delay", min_delay)
        self.max_delay = check_non_negative("EndpointingPolicy", "max_delay", max_delay)
        if self.max_delay < self.min_delay:
            raise ConfigurationError(f"EndpointingPolicy: max_delay ({max_delay}) must be >= min_delay ({min_delay})")
        self.names = string_tuple("EndpointingPolicy", "names", names, empty=True)
        self.task = check_task("EndpointingPolicy", "task", task)
        self.completeness = check_flag("EndpointingPolicy", "completeness", completeness)
        self.addressed_only = check_flag("EndpointingPolicy", "addressed_only", addressed_only)
        self._turn = UserTurn()
        self._agent_was_speaking = False

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Track the user's turn; respond when its end is confirmed by enough silence."""
        if context.agent_speaking and not self._agent_was_speaking:
            self._turn.close()  # whatever was said before the reply started has been served
        self._agent_was_speaking = context.agent_speaking
        self._turn.absorb(perceptions)
        turn = self._turn
        if context.agent_speaking or not turn.open or turn.speaking or turn.speech_end is None:
            return Decision.silent()
        silence = context.heard_until - turn.speech_end
        text = turn.text
        complete = turn_complete(text) if self.completeness else True
        needed = self.min_delay if complete else self.max_delay
        tokens = words(text)
        answerable = not (tokens and all(token in BACKCHANNEL_WORDS for token in tokens)) and not (
            self.addressed_only and not addressed_to_assistant(text, self.names)
        )
        if silence + EPS < needed:
            reason = f"turn end? {silence:.2f}s of {needed:.2f}s silence"
            if complete and answerable and tokens:  # likely to answer at a coming decision point: write it ahead
                return Decision.preparing(pick_task(context, self.task, proactive=False), turn.evidence, reason)
            return Decision.silent(reason)
        if tokens and all(token in BACKCHANNEL_WORDS for token in tokens):
            turn.close()
            return Decision.silent(f"backchannel only: {text!r}")
        if not answerable:
            turn.close()
            return Decision.silent(f"not addressed to the assistant: {text!r}")
        evidence = tuple(turn.evidence)
        turn.close()
        kind = "complete" if complete else "incomplete-looking"
        return Decision(
            action=Action.RESPOND,
            task=pick_task(context, self.task, proactive=False),
            evidence=evidence,
            score=1.0 if complete else 0.5,
            reason=f"{kind} turn ended ({silence:.2f}s silence): {text!r}",
        )

    async def reset(self) -> None:
        """Forget the turn in progress."""
        self._turn = UserTurn()
        self._agent_was_speaking = False
