"""Endpointing: respond when the user's turn ends (silence, the words so far and an end-of-turn model)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import attrs

from audiointeract.conversation import UserTurn
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, TurnEndEstimate
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import (
    EPS,
    check_flag,
    check_non_negative,
    check_task,
    check_unit,
    pick_task,
    string_tuple,
)
from audiointeract.policies._text import addressed_to_assistant, backchannel_only, turn_complete

__all__ = ["EndpointingPolicy", "turn_end_delay"]

_UNSURE_DELAY = 1.0  # the default unsure_delay, kept between min_delay and max_delay
_SAME_END = 0.05
_SENTENCE = re.compile(r"(?<=[.?!])\s+")  # an estimate belongs to the end of speech it names (within this many seconds)


def turn_end_delay(
    *,
    text_complete: bool,
    probability: float | None,
    min_delay: float,
    unsure_delay: float,
    max_delay: float,
    complete_at: float,
    incomplete_below: float,
) -> tuple[float, str]:
    """The silence a turn must be followed by before it counts as over, and why.

    ``max_delay`` if the words read incomplete, or the end-of-turn model's
    ``probability`` is below ``incomplete_below``; ``min_delay`` if the words read
    complete and the model agrees (at or above ``complete_at``) or there is no model
    (``probability`` None); ``unsure_delay`` in between.
    """
    if not text_complete:
        return max_delay, "reads incomplete"
    if probability is None:
        return min_delay, "reads complete"
    if probability >= complete_at:
        return min_delay, f"reads complete, end of turn p={probability:.2f}"
    if probability < incomplete_below:
        return max_delay, f"end of turn unlikely p={probability:.2f}"
    return unsure_delay, f"reads complete, end of turn unsure p={probability:.2f}"


@attrs.define
class _Served:
    """The turn a reply just started for, kept in case the user was not done."""

    committed: list[str]
    evidence: list[Perception]
    onset: float | None
    speech_end: float


class EndpointingPolicy(Decider):
    """RESPOND once the silence after the user's speech says the turn is over.

    Silence is measured from where the speech ended in the audio (the speech end's
    ``span_end``, not when the detector confirmed it) to ``heard_until``. How long it
    must last (:func:`turn_end_delay`): ``min_delay`` when the words read complete
    (:func:`~audiointeract.policies._text.turn_complete`; ``completeness=False`` skips
    the check) and the end-of-turn model agrees (a
    :class:`~audiointeract.events.TurnEndEstimate` for that end of speech with
    ``probability >= complete_at``, e.g. from Smart Turn; without a model the words
    alone decide); ``max_delay`` when the words read incomplete ("my number is four
    five") or the model says the turn goes on (below ``incomplete_below``); else
    ``unsure_delay`` (default 1.0 s, or the nearer of ``min_delay``/``max_delay`` if it
    falls outside them). So a pause shorter than ``max_delay`` in a turn that reads
    incomplete is never taken as its end.

    With ``addressed_only`` only turns put to the assistant (a question, a request, or
    one of ``names``, in the whole turn or one of its sentences) are answered. Turns of
    backchannel words only ("mm-hmm", "thank you") are never answered. A turn that is
    not answered is kept open until ``max_delay`` of silence, so that what the user
    says next ("... please try again") can still make it a request. While a complete, answerable
    turn waits out its delay the policy prepares its reply (``Decision.preparing``). If
    the user goes on within ``max_delay`` of the end of a turn that was answered and
    stops the reply by talking (a pause taken for the end), the turn is picked up
    again as one: its words and evidence come with the continuation. Acts only while
    the agent is listening; ``task`` defaults to the session's first non-proactive
    standing task, and a session that holds no such task is never answered.
    """

    name = "endpointing"

    def __init__(
        self,
        *,
        task: str | None = None,
        min_delay: float = 0.2,
        unsure_delay: float | None = None,
        max_delay: float = 2.0,
        complete_at: float = 0.7,
        incomplete_below: float = 0.1,
        completeness: bool = True,
        addressed_only: bool = False,
        names: Iterable[str] = ("assistant", "computer"),
    ) -> None:
        self.min_delay = check_non_negative("EndpointingPolicy", "min_delay", min_delay)
        self.max_delay = check_non_negative("EndpointingPolicy", "max_delay", max_delay)
        if self.max_delay < self.min_delay:
            raise ConfigurationError(f"EndpointingPolicy: max_delay ({max_delay}) must be >= min_delay ({min_delay})")
        self.unsure_delay = (
            min(self.max_delay, max(self.min_delay, _UNSURE_DELAY))
            if unsure_delay is None
            else check_non_negative("EndpointingPolicy", "unsure_delay", unsure_delay)
        )
        if not self.min_delay <= self.unsure_delay <= self.max_delay:
            raise ConfigurationError(
                f"EndpointingPolicy: unsure_delay ({unsure_delay}) must lie between min_delay and max_delay"
            )
        self.complete_at = check_unit("EndpointingPolicy", "complete_at", complete_at)
        self.incomplete_below = check_unit("EndpointingPolicy", "incomplete_below", incomplete_below)
        if self.incomplete_below > self.complete_at:
            raise ConfigurationError(
                f"EndpointingPolicy: incomplete_below ({incomplete_below}) must be <= complete_at ({complete_at})"
            )
        self.names = string_tuple("EndpointingPolicy", "names", names, empty=True)
        self.task = check_task("EndpointingPolicy", "task", task)
        self.completeness = check_flag("EndpointingPolicy", "completeness", completeness)
        self.addressed_only = check_flag("EndpointingPolicy", "addressed_only", addressed_only)
        self._clear()

    def _clear(self) -> None:
        self._turn = UserTurn()
        self._agent_was_speaking = False
        self._estimate: TurnEndEstimate | None = None
        self._served: _Served | None = None

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Track the user's turn; respond when the silence after it is long enough."""
        turn = self._turn
        if context.agent_speaking and not self._agent_was_speaking:
            turn.close()  # whatever was said before the reply started has been served
        elif self._agent_was_speaking and not context.agent_speaking:
            self._pick_up(turn, cut=context.last_reply_cut)
        self._agent_was_speaking = context.agent_speaking
        turn.absorb(perceptions)
        for p in perceptions:
            if isinstance(p, TurnEndEstimate):
                self._estimate = p
        if context.agent_speaking or not turn.open or turn.speaking or turn.speech_end is None:
            return Decision.silent()
        silence = context.heard_until - turn.speech_end
        text = turn.text
        estimate = self._estimate
        probability = (
            estimate.probability
            if estimate is not None and abs(estimate.speech_end - turn.speech_end) <= _SAME_END
            else None
        )
        needed, why = turn_end_delay(
            text_complete=turn_complete(text) if self.completeness else True,
            probability=probability,
            min_delay=self.min_delay,
            unsure_delay=self.unsure_delay,
            max_delay=self.max_delay,
            complete_at=self.complete_at,
            incomplete_below=self.incomplete_below,
        )
        backchannel = backchannel_only(text)
        answerable = not backchannel and (not self.addressed_only or self._addressed(text))
        task = pick_task(context, self.task, proactive=False)
        if silence + EPS < needed:
            reason = f"turn end? {silence:.2f}s of {needed:.2f}s silence ({why})"
            if needed == self.min_delay and answerable and text and task is not None:  # write it ahead
                return Decision.preparing(task, turn.evidence, reason)
            return Decision.silent(reason)
        if not answerable or task is None:  # a reply must serve a task the session holds
            why_not = "the session holds no conversation task"
            if not answerable:
                why_not = "backchannel only" if backchannel else "not addressed to the assistant"
            if silence + EPS < self.max_delay:  # kept open: what the user says next may make it a request
                return Decision.silent(f"{why_not} so far: {text!r}")
            turn.close()
            return Decision.silent(f"{why_not}: {text!r}")
        evidence = tuple(turn.evidence)
        self._served = _Served(committed=list(turn.committed), evidence=list(evidence), onset=turn.onset,
                               speech_end=turn.speech_end)
        turn.close()
        return Decision(
            action=Action.RESPOND,
            task=task,
            evidence=evidence,
            score=1.0 if needed < self.max_delay else 0.5,
            reason=f"turn ended ({silence:.2f}s silence, {why}): {text!r}",
        )

    def _addressed(self, text: str) -> bool:
        """Whether the turn, or one of its sentences, is put to the assistant."""
        sentences = [part for part in _SENTENCE.split(text) if part.strip()]
        return any(addressed_to_assistant(part, self.names) for part in [text, *sentences])

    def _pick_up(self, turn: UserTurn, *, cut: bool) -> None:
        """The reply was cut while the user talks, soon after the turn it answered: it is one turn.

        A reply that played to its end answered its turn; what the user says next is a new one.
        """
        served, self._served = self._served, None
        if served is None or not cut or not turn.open or turn.onset is None or not turn.speaking:
            return
        if turn.onset - served.speech_end > self.max_delay + EPS:
            return
        turn.committed[:0] = served.committed
        new = list(turn.evidence)
        turn.evidence.clear()
        turn.evidence.extend([*served.evidence, *new])
        turn.onset = served.onset

    async def reset(self) -> None:
        """Forget the turn in progress."""
        self._clear()
