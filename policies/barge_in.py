"""Barge-in: pause the reply at the user's onset, then INTERRUPT it or let it play on.

A person who starts talking over the agent wants the floor; one who says "mm-hm" or
"thank you", coughs or shuts a door does not. Telling them apart takes a few hundred
milliseconds of the sound (its words, whether it goes on), longer than a person waits
for a talker to stop. So at a confirmed speech onset over the reply the policy *holds*
the reply (:meth:`~audiointeract.events.Decision.holding`: the session pauses its
audio at once) and judges the speech run with :func:`judge_overlap` at each decision
point: an interruption is cancelled (INTERRUPT), anything else plays on from where it
stopped.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import attrs

from audiointeract.conversation import UserTurn
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, TranscriptUpdate
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import EPS, check_flag, check_non_negative, check_task, pick_task
from audiointeract.policies._text import content_words, spoken_words

__all__ = ["InterruptPolicy", "Overlap", "Verdict", "judge_overlap"]


class Verdict(enum.Enum):
    """What a speech run over the reply is."""

    INTERRUPTION = "interruption"
    """The user takes the floor: stop the reply."""
    BACKCHANNEL = "backchannel"
    """Acknowledgement words only ("thank you", "yeah", "mm-hm"): play on."""
    NOISE = "noise"
    """No words at all (a cough, a door, an animal): play on."""
    UNDECIDED = "undecided"
    """Not known yet: keep the reply held."""


@attrs.frozen(kw_only=True)
class Overlap:
    """One speech run over the reply, as far as it was heard: how long, whether it ended, its words."""

    seconds: float
    ended: bool
    text: str


def judge_overlap(
    overlap: Overlap, *, min_words: int = 1, min_speech: float = 0.0, ignore_backchannel: bool = True
) -> tuple[Verdict, str]:
    """The verdict on a speech run over the reply, and why (rules, in order).

    1. Words that are all acknowledgements: a backchannel (never an interruption).
    2. ``min_words`` words that are not acknowledgements (``_text.content_words``; while
       the run goes on, a last word that may begin one, "thank" or "got", waits; with
       ``ignore_backchannel=False`` every word counts) over at least ``min_speech``
       seconds: an interruption. With ``min_words=0`` the run's length alone decides.
    3. A run that ended without enough words: a backchannel if it had words, else noise.
    4. Otherwise undecided (the words may still be coming).
    """
    heard = spoken_words(overlap.text)
    content = content_words(overlap.text, open_ended=not overlap.ended) if ignore_backchannel else heard
    if ignore_backchannel and heard and not content_words(overlap.text):
        return Verdict.BACKCHANNEL, f"backchannel over the reply: {' '.join(heard)!r}"
    if overlap.seconds + EPS >= min_speech and len(content) >= min_words:
        said = f": {' '.join(heard)!r}" if heard else ""
        return Verdict.INTERRUPTION, f"user spoke {overlap.seconds:.2f}s over the reply{said}"
    if overlap.ended:
        if heard:
            return Verdict.BACKCHANNEL, f"{len(content)} of {min_words} words over the reply: {' '.join(heard)!r}"
        return Verdict.NOISE, f"a sound without words over the reply ({overlap.seconds:.2f}s)"
    return Verdict.UNDECIDED, f"{len(content)} of {min_words} words after {overlap.seconds:.2f}s over the reply"


class InterruptPolicy(Decider):
    """Barge-in with a pause: hold the reply at the user's onset, INTERRUPT or resume it once judged.

    From a speech onset overlapping the reply (the VAD's confirmed onset) the policy
    returns :meth:`~audiointeract.events.Decision.holding` decisions — the session
    pauses the reply's audio — while :func:`judge_overlap` is undecided, then:

    * INTERRUPT on an interruption (``min_words`` words that are not acknowledgements,
      over at least ``min_speech`` seconds; ``min_words=0``: ``min_speech`` seconds of
      speech alone);
    * a plain SILENT, which resumes the reply, on a backchannel ("thank you", "yeah"),
      on a sound without words, or once it has held ``max_hold`` seconds without a
      verdict.

    A run that was let play on is not held again, but still interrupts if its words
    come late. At most one INTERRUPT per reply. With ``hold=False`` the reply plays on
    while the run is judged. Silent while the agent is listening.
    """

    name = "interrupt"

    def __init__(
        self,
        *,
        task: str | None = None,
        min_speech: float = 0.0,
        min_words: int = 1,
        ignore_backchannel: bool = True,
        hold: bool = True,
        max_hold: float = 1.5,
    ) -> None:
        self.min_speech = check_non_negative("InterruptPolicy", "min_speech", min_speech)
        if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 0:
            raise ConfigurationError(f"InterruptPolicy: min_words must be an int >= 0, got {min_words!r}")
        self.min_words = min_words
        self.max_hold = check_non_negative("InterruptPolicy", "max_hold", max_hold)
        self.task = check_task("InterruptPolicy", "task", task)
        self.ignore_backchannel = check_flag("InterruptPolicy", "ignore_backchannel", ignore_backchannel)
        self.hold = check_flag("InterruptPolicy", "hold", hold)
        self._clear()

    def _clear(self) -> None:
        self._reply: int | None = None
        self._reply_seen_at = 0.0
        self._fired = False
        self._released_run: float | None = None  # start of the last run let play on
        self._held_since: float | None = None
        self._run = UserTurn(turn_per_run=True)  # one speech run at a time: each is judged on its own

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Follow the user's speech over the current reply; hold, interrupt or let it play on."""
        if context.active_reply != self._reply:
            self._reply = context.active_reply
            self._reply_seen_at = context.heard_until
            self._fired = False
            self._released_run = None
            self._held_since = None
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
        if end < start:  # the run ended before the reply began
            return Decision.silent()
        overlap = Overlap(seconds=end - start, ended=not run.speaking, text=run.text)
        verdict, reason = judge_overlap(
            overlap, min_words=self.min_words, min_speech=self.min_speech, ignore_backchannel=self.ignore_backchannel
        )
        if verdict is Verdict.INTERRUPTION:
            self._fired = True
            return Decision(
                action=Action.INTERRUPT,
                task=pick_task(context, self.task, proactive=False),
                evidence=tuple(run.evidence)[-8:],
                score=1.0,
                reason=f"{reason} (reply {self._reply})",
            )
        if run.run_start == self._released_run:
            return Decision.silent()
        return self._hold_or_release(run, verdict, reason, context.heard_until)

    def _hold_or_release(self, run: UserTurn, verdict: Verdict, reason: str, heard_until: float) -> Decision:
        """Keep the reply held while the run is undecided (up to ``max_hold``), else let it play on."""
        if self._held_since is None:
            self._held_since = heard_until
        held = heard_until - self._held_since
        if verdict is not Verdict.UNDECIDED or held + EPS >= self.max_hold:
            self._released_run = run.run_start
            self._held_since = None
            ending = reason if verdict is not Verdict.UNDECIDED else f"no verdict after {held:.2f}s held: {reason}"
            return Decision.silent(f"{verdict.value}: {ending}; the reply plays on")
        if self.hold:
            return Decision.holding(tuple(run.evidence)[-8:], f"judging the user's speech over the reply: {reason}")
        return Decision.silent(reason)

    async def reset(self) -> None:
        """Forget the reply and speech being followed."""
        self._clear()
