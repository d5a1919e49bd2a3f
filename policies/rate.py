"""Proactive-rate controls as a wrapper any policy can use (MMDuet's knobs plus de-duplication)."""

from __future__ import annotations

from collections.abc import Sequence

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, SoundEvent, SpeechActivity, TranscriptUpdate
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import EPS, check_non_negative, check_unit
from audiointeract.policies._text import normalize
from audiointeract.policies.cooldown import Cooldown

__all__ = ["RateControlled", "trigger_key"]


def trigger_key(decision: Decision) -> tuple[str | None, str]:
    """What makes two RESPONDs "the same trigger": the task and the last evidence's label or text."""
    if not decision.evidence:
        return decision.task, ""
    last = decision.evidence[-1]
    if isinstance(last, SoundEvent):
        return decision.task, f"sound:{normalize(last.label)}"
    if isinstance(last, TranscriptUpdate):
        return decision.task, f"text:{normalize(last.committed or last.tentative)}"
    if isinstance(last, SpeechActivity):
        return decision.task, "speech"
    return decision.task, type(last).__name__


class RateControlled(Decider):
    """Lets the wrapped policy's RESPONDs through only when the rate knobs allow.

    Applied in this order to every RESPOND of the inner policy (other actions pass
    unchanged); a blocked RESPOND becomes SILENT with the reason. All times are stream
    time (``heard_until``).

    * ``threshold``: a RESPOND scoring below it is ignored (instantaneous threshold);
    * ``evidence``: the scores of RESPONDs at or above ``threshold`` add up (halving
      every ``evidence_half_life`` s, None: no decay); one passes only once the sum
      reaches ``evidence``. The sum resets to 0 when a reply starts (any reply);
    * ``warmup``: nothing passes before ``warmup`` s of audio;
    * ``cooldown``: nothing passes within ``cooldown`` s of the previous one that did;
    * ``dedupe_window``: a RESPOND with the same :func:`trigger_key` as one that passed
      less than ``dedupe_window`` s before is dropped.

    A RESPOND while the agent is speaking would be ignored by the session, so it is
    turned into SILENT without counting.
    """

    def __init__(
        self,
        policy: Decider,
        *,
        threshold: float = 0.0,
        evidence: float = 0.0,
        evidence_half_life: float | None = None,
        warmup: float = 0.0,
        cooldown: float = 0.0,
        dedupe_window: float = 0.0,
    ) -> None:
        if not isinstance(policy, Decider):
            raise ConfigurationError(f"RateControlled wraps a Decider, got {policy!r}")
        self.policy = policy
        self.name = f"rate({policy.name})"
        self.threshold = check_unit("RateControlled", "threshold", threshold)
        self.evidence = check_non_negative("RateControlled", "evidence", evidence)
        if evidence_half_life is not None and not (
            check_non_negative("RateControlled", "evidence_half_life", evidence_half_life) > 0
        ):
            raise ConfigurationError("RateControlled: evidence_half_life must be > 0 (or None for no decay)")
        self.evidence_half_life = evidence_half_life
        self.warmup = check_non_negative("RateControlled", "warmup", warmup)
        self.cooldown = check_non_negative("RateControlled", "cooldown", cooldown)
        self.dedupe_window = check_non_negative("RateControlled", "dedupe_window", dedupe_window)
        self._clear()

    def _clear(self) -> None:
        self._accumulated = 0.0
        self._accumulated_at: float | None = None
        self._since_passed = Cooldown(self.cooldown)
        self._passed_triggers = Cooldown(self.dedupe_window)
        self._reply: int | None = None

    @property
    def accumulated(self) -> float:
        """Evidence gathered since the last reply started."""
        return self._accumulated

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Ask the wrapped policy, then apply the knobs to its RESPOND."""
        now = context.heard_until
        if context.active_reply is not None and context.active_reply != self._reply:
            self._accumulated = 0.0  # a reply started: evidence resets
        self._reply = context.active_reply
        decision = await self.policy.decide(context, perceptions)
        if decision.action is not Action.RESPOND:
            return decision
        if context.agent_speaking:
            return Decision.silent(f"agent speaking; {decision.reason}")
        if decision.score < self.threshold:
            return Decision.silent(f"score {decision.score:.2f} < threshold {self.threshold:.2f}")
        blocked = self._blocked(decision, now)
        if blocked is not None:
            return Decision.silent(blocked)
        self._since_passed.note(None, now)
        self._passed_triggers.note(trigger_key(decision), now)
        self._accumulated = 0.0
        return decision

    def _blocked(self, decision: Decision, now: float) -> str | None:
        """Why this RESPOND may not pass now (None: it may), after adding its score to the evidence."""
        self._add_evidence(decision.score, now)
        if now + EPS < self.warmup:
            return f"warm-up until {self.warmup:.2f}s"
        passed_at = self._since_passed.cooling_since(None, now)
        if passed_at is not None:
            return f"cooldown until {passed_at + self.cooldown:.2f}s"
        seen_at = self._passed_triggers.cooling_since(trigger_key(decision), now)
        if seen_at is not None:
            return f"duplicate of the trigger at {seen_at:.2f}s"
        if self._accumulated + EPS < self.evidence:
            return f"evidence {self._accumulated:.2f} of {self.evidence:.2f}"
        return None

    def _add_evidence(self, score: float, now: float) -> None:
        if self.evidence_half_life is not None and self._accumulated_at is not None:
            self._accumulated *= 0.5 ** ((now - self._accumulated_at) / self.evidence_half_life)
        self._accumulated += score
        self._accumulated_at = now

    async def reset(self) -> None:
        """Forget evidence, cooldown and seen triggers, and reset the wrapped policy."""
        self._clear()
        await self.policy.reset()

    async def aclose(self) -> None:
        """Close the wrapped policy."""
        await self.policy.aclose()
