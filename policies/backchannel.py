"""Backchannels: a short "mm-hmm" in a pause of a long user turn, without taking the floor."""

from __future__ import annotations

import math
from collections.abc import Sequence

from audiointeract.conversation import UserTurn
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import EPS, check_flag, check_non_negative
from audiointeract.policies._text import turn_complete

__all__ = ["BackchannelPolicy"]


class BackchannelPolicy(Decider):
    """BACKCHANNEL in a pause of ``min_pause``..``max_pause`` s after ``min_speech`` s of user talk.

    Knobs (separate from endpointing and barge-in): the user must have talked for at
    least ``min_speech`` s since the turn began (or since the last backchannel), at most
    one backchannel per pause and per ``min_gap`` s, and with ``only_incomplete`` only
    when the transcript so far does not read as a finished turn (that is endpointing's
    moment). Only while the agent is listening.
    """

    name = "backchannel"

    def __init__(
        self,
        *,
        min_speech: float = 4.0,
        min_pause: float = 0.2,
        max_pause: float = 1.0,
        min_gap: float = 5.0,
        only_incomplete: bool = True,
    ) -> None:
        self.min_speech = check_non_negative("BackchannelPolicy", "min_speech", min_speech)
        self.min_pause = check_non_negative("BackchannelPolicy", "min_pause", min_pause)
        self.max_pause = check_non_negative("BackchannelPolicy", "max_pause", max_pause)
        self.min_gap = check_non_negative("BackchannelPolicy", "min_gap", min_gap)
        if self.max_pause < self.min_pause:
            raise ConfigurationError(f"BackchannelPolicy: max_pause ({max_pause}) must be >= min_pause ({min_pause})")
        self.only_incomplete = check_flag("BackchannelPolicy", "only_incomplete", only_incomplete)
        self._turn = UserTurn()
        self._since: float | None = None
        self._last = -math.inf
        self._served_pause: float | None = None

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Acknowledge a pause in a long turn, or stay silent."""
        if context.agent_speaking:
            self._turn.close()
        self._turn.absorb(perceptions)
        turn = self._turn
        if not turn.open or turn.onset is None:
            self._since = None
            return Decision.silent()
        if context.agent_speaking or turn.speaking or turn.speech_end is None:
            return Decision.silent()
        start = turn.onset if self._since is None else max(turn.onset, self._since)
        talked = turn.speech_end - start
        pause = context.heard_until - turn.speech_end
        if pause > self.max_pause + EPS:  # the turn is over as far as backchannels go
            turn.close()
            return Decision.silent()
        if (
            talked + EPS < self.min_speech
            or pause + EPS < self.min_pause
            or context.heard_until - self._last + EPS < self.min_gap
            or self._served_pause == turn.speech_end
            or (self.only_incomplete and turn_complete(turn.text))
        ):
            return Decision.silent()
        self._served_pause = turn.speech_end
        self._last = context.heard_until
        self._since = context.heard_until
        return Decision(
            action=Action.BACKCHANNEL,
            evidence=tuple(turn.evidence)[-4:],
            score=1.0,
            reason=f"{pause:.2f}s pause after {talked:.2f}s of talk",
        )

    async def reset(self) -> None:
        """Forget the turn and the last backchannel."""
        self._turn = UserTurn()
        self._since = None
        self._last = -math.inf
        self._served_pause = None
